use std::time::Instant;
use xrpo_reward::code::{CodeConfig, CodeVerifier, Isolation};
#[test]
fn timing() {
    for level in [Isolation::Namespaces, Isolation::Rlimits, Isolation::Namespaces, Isolation::Rlimits] {
        let v = CodeVerifier::new(CodeConfig { min_isolation: level, max_isolation: level, workers: 1, ..Default::default() }).unwrap();
        let start = Instant::now();
        let mut walls = vec![];
        for _ in 0..50 { let o = v.run_python("pass", "").unwrap(); walls.push(o.wall.as_secs_f64()*1e3); }
        walls.sort_by(f64::total_cmp);
        println!("{level}: {:.2} ms/run total, median child wall {:.2} ms", start.elapsed().as_secs_f64()*1e3/50.0, walls[25]);
    }
}
