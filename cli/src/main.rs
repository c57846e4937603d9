//! The `shinny` command line.

fn main() {
    eprintln!("shinny: not implemented yet");
    std::process::exit(2);
}
