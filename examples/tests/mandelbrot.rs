//! `mandelbrot` writes a real PNG: the right size, black inside the set,
//! colored outside.

mod common;

#[test]
fn mandelbrot_writes_a_picture() {
    let out = std::env::temp_dir().join(format!("isolate-mandelbrot-{}.png", std::process::id()));
    let stdout = common::run_example(
        "mandelbrot",
        &[
            "--width",
            "160",
            "--height",
            "100",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(
        stdout.contains("mandelbrot: 160×100, 100 rows offloaded with run"),
        "{stdout}"
    );

    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&out).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    std::fs::remove_file(&out).unwrap();
    assert_eq!((frame.width, frame.height), (160, 100));
    assert_eq!(frame.color_type, png::ColorType::Rgb);
    let pixel = |x: usize, y: usize| &pixels[(y * 160 + x) * 3..][..3];
    // (-0.2, 0) is inside the set; the top-left corner is far outside it.
    assert_eq!(pixel(100, 50), [0, 0, 0]);
    assert_ne!(pixel(0, 0), [0, 0, 0]);
}
