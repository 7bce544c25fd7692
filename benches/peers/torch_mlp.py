"""PyTorch CPU peer: MLP training throughput (samples/s) on the synthetic sets. Usage: torch_mlp.py small|large [epochs]"""
# Copied unchanged from the training-speed peer (../shared/peers/torch_mlp.py) so that a clone needs
# nothing outside the repository to measure against PyTorch (ml/BENCH.md).
import sys, time, numpy as np, torch
torch.set_num_threads(int(__import__("os").environ.get("THREADS", "2")))
DATA = __import__("os").environ.get("PEERDATA", "peerdata")
name = sys.argv[1]; epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
d = 64 if name == "small" else 784
hidden = [128, 64] if name == "small" else [512, 512]
bs = 64 if name == "small" else 128
X = torch.from_numpy(np.fromfile(f"{DATA}/{name}_X.f32", dtype=np.float32).reshape(-1, d))
y = torch.from_numpy(np.fromfile(f"{DATA}/{name}_y.i32", dtype=np.int32).astype(np.int64))
torch.manual_seed(0)
layers, prev = [], d
for h in hidden: layers += [torch.nn.Linear(prev, h), torch.nn.ReLU()]; prev = h
layers.append(torch.nn.Linear(prev, 10)); model = torch.nn.Sequential(*layers)
opt = torch.optim.Adam(model.parameters(), lr=1e-3); lossf = torch.nn.CrossEntropyLoss()
def epoch():
    perm = torch.randperm(len(X)); tot = 0.0
    for i in range(0, len(X), bs):
        idx = perm[i:i+bs]; opt.zero_grad(); loss = lossf(model(X[idx]), y[idx]); loss.backward(); opt.step(); tot += loss.item()
    return tot
epoch()  # warm-up
t = time.perf_counter()
for _ in range(epochs): last = epoch()
dt = time.perf_counter() - t
with torch.no_grad(): acc = (model(X).argmax(1) == y).float().mean().item()
print(f"torch {name}: {epochs*len(X)/dt:.0f} samples/s train_acc={acc:.3f}")
