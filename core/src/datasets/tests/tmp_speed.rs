#[test]
fn tmp_speed() {
    let iris = include_str!("../../../../examples/data/iris.csv");
    let body: String = iris.lines().skip(1).map(|l| format!("{l}\n")).collect();
    let mut text = String::from("sepal_length,sepal_width,petal_length,petal_width,species\n");
    while text.len() < 10_000_000 {
        text.push_str(&body);
    }
    let t = std::time::Instant::now();
    let (_, rows) = crate::datasets::infer_schema(text.as_bytes()).unwrap();
    eprintln!("SPEED {} rows in {:?}", rows, t.elapsed());
}
