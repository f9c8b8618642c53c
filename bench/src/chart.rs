//! The chart of one invocation (`--chart docs/benchmarks.svg`): per
//! workload, each framework's median as a multiple of the best, on a log
//! scale, so that rows with different units share one picture.

use plotters::prelude::*;

/// One framework's median in one workload, against the best in that row.
pub struct Bar {
    pub workload: &'static str,
    pub framework: &'static str,
    pub ratio: f64,
}

pub fn draw(path: &str, bars: &[Bar]) -> Result<(), Box<dyn std::error::Error>> {
    let mut workloads: Vec<&str> = Vec::new();
    let mut frameworks: Vec<&str> = Vec::new();
    for bar in bars {
        if !workloads.contains(&bar.workload) {
            workloads.push(bar.workload);
        }
        if !frameworks.contains(&bar.framework) {
            frameworks.push(bar.framework);
        }
    }
    let root = SVGBackend::new(path, (1500, 760)).into_drawing_area();
    root.fill(&WHITE)?;
    let top = bars.iter().map(|bar| bar.ratio).fold(2.0, f64::max) * 1.6;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Each framework's median as a multiple of the best in its row (lower is better)",
            ("sans-serif", 22),
        )
        .margin(15)
        .x_label_area_size(150)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..workloads.len() as f64, (0.5f64..top).log_scale())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(1)
        .x_label_formatter(&|_| String::new())
        .y_desc("× the best")
        .y_label_formatter(&|v| format!("{v:.0}×"))
        .draw()?;
    let width = 0.8 / frameworks.len() as f64;
    for (j, framework) in frameworks.iter().enumerate() {
        let color = Palette99::pick(j).mix(0.9);
        chart
            .draw_series(
                bars.iter()
                    .filter(|bar| bar.framework == *framework)
                    .map(|bar| {
                        let i = workloads
                            .iter()
                            .position(|w| *w == bar.workload)
                            .unwrap_or(0);
                        let x0 = i as f64 + 0.1 + j as f64 * width;
                        Rectangle::new([(x0, 0.5), (x0 + width * 0.9, bar.ratio)], color.filled())
                    }),
            )?
            .label(*framework)
            .legend(move |(x, y)| {
                Rectangle::new([(x, y - 6), (x + 12, y + 6)], Palette99::pick(j).filled())
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()?;
    let style = TextStyle::from(("sans-serif", 14)).transform(FontTransform::Rotate90);
    for (i, workload) in workloads.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(i as f64 + 0.5, 0.5));
        root.draw_text(workload, &style, (x - 7, y + 8))?;
    }
    root.present()?;
    Ok(())
}
