//! A chart as one value: what to draw and its texts. The page hands orders around and only
//! `draw` turns one into SVG, so in the browser the drawing code (charts-rs, its font and
//! label formatting) is reached through one function that can live in a chunk of its own.

use crate::model::live::Point;

/// Which chart, with its data.
#[derive(Clone, Debug, PartialEq)]
pub enum ChartKind {
    HitRate {
        points: Vec<Point>,
        target_percent: f64,
    },
    Memory {
        points: Vec<Point>,
    },
    Throughput {
        points: Vec<Point>,
    },
    /// Several named series over the same labels.
    Lines {
        labels: Vec<String>,
        series: Vec<(String, Vec<f64>)>,
    },
    /// A horizontal bar per named value.
    Bars {
        bars: Vec<(String, f64)>,
        /// The values are byte counts.
        bytes: bool,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct ChartOrder {
    pub kind: ChartKind,
    pub title: &'static str,
    /// Names of the first two series (line charts of points).
    pub series: [&'static str; 2],
    /// Shown instead of a chart that cannot be drawn.
    pub unavailable: &'static str,
    pub width: f32,
    /// The language the chart's numbers are written in.
    pub lang: crate::model::Lang,
}

/// The order's SVG (or its error state).
pub fn draw(order: &ChartOrder) -> String {
    let labels = super::LineLabels {
        title: order.title,
        series: order.series,
        unavailable: order.unavailable,
        lang: order.lang,
    };
    let svg = match &order.kind {
        ChartKind::HitRate {
            points,
            target_percent,
        } => super::hit_rate_chart(points, *target_percent, &labels, order.width),
        ChartKind::Memory { points } => super::memory_chart(points, &labels, order.width),
        ChartKind::Throughput { points } => super::throughput_chart(points, &labels, order.width),
        ChartKind::Lines { labels, series } => super::multi_line_chart(
            labels.clone(),
            series.clone(),
            order.title,
            order.unavailable,
            order.width,
        ),
        ChartKind::Bars { bars, bytes } => {
            return super::bar_chart(
                bars,
                order.title,
                super::BarValues {
                    lang: order.lang,
                    bytes: *bytes,
                    width: order.width,
                },
            );
        }
    };
    super::numbers_in_language(&svg, order.lang)
}
