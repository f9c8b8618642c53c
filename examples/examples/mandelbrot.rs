//! Renders the Mandelbrot set to a PNG by offloading one row per `run`
//! call: each row is computed in an isolate of the global group, and the
//! rows come back in order while a progress bar counts them.
//!
//! ```text
//! cargo run --release --example mandelbrot                         # 1600×1000, mandelbrot.png
//! cargo run --release --example mandelbrot -- --width 320 --height 200 --out small.png
//! ```

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use isolate_core::prelude::*;

/// The picture's size, and how hard each point is tried.
#[message]
#[derive(Clone, Copy)]
struct View {
    width: u32,
    height: u32,
    max_iterations: u32,
}

/// One row of RGB pixels: the unit of work that crosses to an isolate and
/// back (an owned `Vec`, so it moves without a copy).
fn render_row((view, y): (View, u32)) -> Vec<u8> {
    let mut row = Vec::with_capacity(view.width as usize * 3);
    // The classic frame: x in [-2.2, 1.0], y in [-1.0, 1.0] at 16:10.
    let scale = 3.2 / f64::from(view.width);
    let ci = (f64::from(y) - f64::from(view.height) / 2.0) * scale;
    for x in 0..view.width {
        // A row can take a while at high iteration counts: a kill of this
        // isolate (`Priority::Immediate`) ends it here, at the next pixel.
        isolate_core::checkpoint();
        let cr = f64::from(x) * scale - 2.2;
        let (mut zr, mut zi, mut n) = (0.0f64, 0.0f64, 0);
        while n < view.max_iterations && zr * zr + zi * zi <= 4.0 {
            (zr, zi) = (zr * zr - zi * zi + cr, 2.0 * zr * zi + ci);
            n += 1;
        }
        row.extend_from_slice(&color(n, view.max_iterations));
    }
    row
}

/// Black inside the set; outside, a blue-to-gold ramp by escape time.
fn color(n: u32, max: u32) -> [u8; 3] {
    if n == max {
        return [0, 0, 0];
    }
    let t = (f64::from(n) / f64::from(max)).sqrt();
    let channel = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    [
        channel(10.0, 255.0),
        channel(20.0, 200.0),
        channel(90.0, 40.0),
    ]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (view, out) = parse_args()?;
    let start = Instant::now();
    // Every row starts at once on the global group; they are collected in
    // order, so the picture is assembled as they finish.
    let rows: Vec<_> = (0..view.height)
        .map(|y| isolate_core::run_with_async((view, y), render_row))
        .collect();
    let progress = ProgressBar::new(u64::from(view.height)).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} rows {elapsed}")?,
    );
    let mut pixels = Vec::with_capacity(view.width as usize * view.height as usize * 3);
    for row in rows {
        pixels.extend_from_slice(&row.wait()?);
        progress.inc(1);
    }
    progress.finish_and_clear();
    let rendered = start.elapsed();

    let mut encoder =
        png::Encoder::new(BufWriter::new(File::create(&out)?), view.width, view.height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.write_header()?.write_image_data(&pixels)?;
    let bytes = std::fs::metadata(&out)?.len();

    println!(
        "mandelbrot: {}×{}, {} rows offloaded with run to {} workers in {:.0} ms",
        view.width,
        view.height,
        view.height,
        IsolateGroup::global().workers(),
        rendered.as_secs_f64() * 1e3
    );
    println!("            wrote {} ({} KiB)", out.display(), bytes / 1024);
    Ok(())
}

/// `--width`, `--height`, `--iterations`, `--out`.
fn parse_args() -> Result<(View, PathBuf), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut view = View {
        width: 1600,
        height: 1000,
        max_iterations: 256,
    };
    let mut out = PathBuf::from("mandelbrot.png");
    for pair in args.chunks(2) {
        let [name, value] = pair else {
            return Err(format!("{} needs a value", pair[0]));
        };
        let number = || {
            value
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=20_000).contains(n))
                .ok_or(format!("{name} takes a number from 1 to 20000"))
        };
        match name.as_str() {
            "--width" => view.width = number()?,
            "--height" => view.height = number()?,
            "--iterations" => view.max_iterations = number()?,
            "--out" => out = PathBuf::from(value),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok((view, out))
}
