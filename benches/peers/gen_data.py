"""Makes the synthetic training sets used by every peer throughput benchmark (same bytes for all)."""
# Copied unchanged from the training-speed peer (../shared/peers/gen_data.py) so that a clone needs
# nothing outside the repository; benches/training.rs and scripts/bench-python read its output.
import numpy as np, sys, os
out = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("PEERDATA", "peerdata")
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)
for name, n, d, k in [("small", 20000, 64, 10), ("large", 20000, 784, 10)]:
    X = rng.standard_normal((n, d), dtype=np.float32)
    W = rng.standard_normal((d, k), dtype=np.float32)
    y = np.argmax(np.tanh(X @ W) + 0.1 * rng.standard_normal((n, k), dtype=np.float32), axis=1).astype(np.int32)
    X.tofile(f"{out}/{name}_X.f32"); y.tofile(f"{out}/{name}_y.i32")
    with open(f"{out}/{name}.csv", "w") as f:
        f.write(",".join(f"f{i}" for i in range(d)) + ",label\n")
        for row, lab in zip(X, y):
            f.write(",".join(f"{v:.6g}" for v in row) + f",{lab}\n")
    print(name, X.shape, np.bincount(y))
