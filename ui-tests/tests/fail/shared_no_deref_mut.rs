use isolate_core::Shared;

fn main() {
    let mut words = Shared::new(vec![String::from("a")]);
    words.push(String::from("b"));
}
