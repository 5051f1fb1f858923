//! Chart SVGs from model data with charts-rs. Pure functions: the server renders the first
//! paint with them and the WASM client re-renders with the same code as samples arrive.
//! charts-rs escapes every text it draws, so names that come from Redis stay text.

mod order;

use charts_rs::{LineChart, Series, Symbol};

pub use order::{ChartKind, ChartOrder, draw};

use crate::model::format::UtcMoment;
use crate::model::live::Point;

/// Charts are drawn at the width of their container, within these bounds (iframe widths
/// from 480 px to 1600 px, one or two charts per row).
pub const MIN_WIDTH: f32 = 300.0;
pub const MAX_WIDTH: f32 = 800.0;
const HEIGHT: f32 = 260.0;
/// More points than this are averaged into buckets: the SVG stays small and readable.
const MAX_POINTS: usize = 240;
/// charts-rs measures labels with its embedded font but the browser draws them with the
/// page's; the system stack below covers Cyrillic everywhere.
const FONT_FAMILY: &str = "system-ui, Roboto, 'Noto Sans', 'DejaVu Sans', sans-serif";

pub struct LineLabels<'a> {
    pub title: &'a str,
    pub series: [&'a str; 2],
    /// Shown instead of the chart when it cannot be drawn.
    pub unavailable: &'a str,
    pub lang: crate::model::Lang,
}

/// Width of one chart for a viewport (the iframe) `viewport` px wide: two charts per row
/// from 960 px, one below; page and panel padding (56 px) and the column gap (16 px) off.
pub fn chart_width_for(viewport: f64) -> f32 {
    let content = (viewport - 56.0).max(0.0);
    let per_chart = if viewport >= 960.0 {
        (content - 16.0) / 2.0
    } else {
        content
    };
    (per_chart as f32).clamp(MIN_WIDTH, MAX_WIDTH)
}

/// Averages consecutive points into at most `max` buckets; gaps (None) stay gaps when a
/// whole bucket has no value.
pub fn downsample(points: &[Point], max: usize) -> Vec<Point> {
    if points.len() <= max || max == 0 {
        return points.to_vec();
    }
    let bucket = points.len().div_ceil(max);
    points
        .chunks(bucket)
        .map(|chunk| {
            let mean = |pick: fn(&Point) -> Option<f64>| {
                let values: Vec<f64> = chunk.iter().filter_map(pick).collect();
                (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
            };
            let last = chunk[chunk.len() - 1];
            Point {
                at_ms: last.at_ms,
                hit_rate_percent: mean(|p| p.hit_rate_percent),
                ops_per_sec: mean(|p| p.ops_per_sec),
                evicted_per_sec: mean(|p| p.evicted_per_sec),
                used_memory_bytes: mean(|p| Some(p.used_memory_bytes as f64)).unwrap_or(0.0) as u64,
                ..last
            }
        })
        .collect()
}

/// "HH:MM" (or "HH:MM:SS" for short spans) in UTC, so server and client label alike.
fn time_labels(points: &[Point]) -> Vec<String> {
    let span = match (points.first(), points.last()) {
        (Some(first), Some(last)) => last.at_ms - first.at_ms,
        _ => 0,
    };
    let with_seconds = span < 30 * 60_000;
    points
        .iter()
        .map(|point| {
            UtcMoment::from_millis(point.at_ms)
                .map(|moment| moment.clock(with_seconds))
                .unwrap_or_default()
        })
        .collect()
}

fn values(points: &[Point], pick: impl Fn(&Point) -> Option<f64>) -> Vec<Option<f32>> {
    points
        .iter()
        .map(|point| pick(point).map(|v| v as f32))
        .collect()
}

fn series(name: &str, data: Vec<Option<f32>>) -> Series {
    let mut series = Series::new(name.to_owned(), Vec::new());
    series.data = data;
    series
}

fn line_chart(width: f32, title: &str, series_list: Vec<Series>, labels: Vec<String>) -> LineChart {
    let mut chart = LineChart::new(series_list, labels);
    chart.width = width.clamp(MIN_WIDTH, MAX_WIDTH);
    chart.height = HEIGHT;
    chart.font_family = FONT_FAMILY.to_owned();
    chart.title.text = title.to_owned();
    chart.title.font.size = 14.0;
    chart.series.symbol = Some(Symbol::None);
    chart.series.stroke_width = 2.0;
    chart
}

/// The chart's SVG, or an error state naming the chart (the cause in its tooltip) instead
/// of an empty frame that would read as "no data".
fn render(
    title: &str,
    unavailable: &str,
    chart: impl FnOnce() -> charts_rs::Result<String>,
) -> String {
    match chart() {
        Ok(svg) => svg,
        Err(error) => format!(
            "<div class=\"chart-error\" role=\"alert\" data-testid=\"chart-error\" title=\"{}\">\
             <strong>{}</strong> {}</div>",
            escape_html(&error.to_string()),
            escape_html(title),
            escape_html(unavailable)
        ),
    }
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Windowed hit rate over time, with the target as a dashed line.
pub fn hit_rate_chart(
    points: &[Point],
    target_percent: f64,
    labels: &LineLabels,
    width: f32,
) -> String {
    let points = downsample(points, MAX_POINTS);
    let mut target = series(
        labels.series[1],
        vec![Some(target_percent as f32); points.len()],
    );
    target.stroke_dash_array = Some("6,4".into());
    let mut chart = line_chart(
        width,
        labels.title,
        vec![
            series(labels.series[0], values(&points, |p| p.hit_rate_percent)),
            target,
        ],
        time_labels(&points),
    );
    if let Some(axis) = chart.y_axis_configs.first_mut() {
        axis.min = Some(0.0);
        axis.max = Some(100.0);
        axis.formatter = Some("{c} %".into());
    }
    let lang = labels.lang;
    let newest = latest(&points, labels, |p| {
        vec![(
            labels.series[0],
            p.hit_rate_percent.map(|v| lang.percent(v, 1)),
        )]
    });
    with_tooltip(
        render(labels.title, labels.unavailable, || chart.svg()),
        &newest,
    )
}

/// Where the root `<svg …>` tag of a charts-rs chart ends: the tooltip goes right after.
const SVG_OPEN_END: &str = ">";

/// The chart with `tooltip` (from `latest`) as the root's first child; an error state as it is.
fn with_tooltip(svg: String, tooltip: &str) -> String {
    if svg.starts_with("<svg") {
        svg.replacen(SVG_OPEN_END, tooltip, 1)
    } else {
        svg
    }
}

/// `>` plus a `<title>` with the newest exact figures ("16:04:42 — окно: 94,0 %"), the
/// chart's tooltip; just `>` without points.
fn latest<'a>(
    points: &[Point],
    labels: &LineLabels<'a>,
    figures: impl Fn(&Point) -> Vec<(&'a str, Option<String>)>,
) -> String {
    let Some(point) = points.last() else {
        return SVG_OPEN_END.to_owned();
    };
    let when = UtcMoment::from_millis(point.at_ms)
        .map(|moment| moment.clock(true))
        .unwrap_or_default();
    let shown: Vec<String> = figures(point)
        .into_iter()
        .filter_map(|(name, value)| value.map(|value| format!("{name}: {value}")))
        .collect();
    format!(
        "><title>{} — {when} UTC — {}</title>",
        escape_html(labels.title),
        escape_html(&shown.join(" · "))
    )
}

/// Used memory and maxmemory over time, in MiB. A maxmemory far above the use (a fresh
/// 512 MiB cache holding a few MiB) would flatten the used line to the axis: then the axis
/// follows the use and maxmemory is named in the title instead of drawn.
pub fn memory_chart(points: &[Point], labels: &LineLabels, width: f32) -> String {
    let points = downsample(points, MAX_POINTS);
    let mib = |bytes: u64| Some(bytes as f64 / (1024.0 * 1024.0));
    let mut series_list = vec![series(
        labels.series[0],
        values(&points, |p| mib(p.used_memory_bytes)),
    )];
    let most_used = points
        .iter()
        .map(|p| p.used_memory_bytes)
        .max()
        .unwrap_or(0);
    let limit = points.iter().map(|p| p.maxmemory_bytes).max().unwrap_or(0);
    let title = if limit > 0 && limit > most_used.saturating_mul(4) {
        format!(
            "{} ({} {})",
            labels.title,
            labels.series[1],
            labels.lang.bytes(limit)
        )
    } else {
        labels.title.to_owned()
    };
    if limit > 0 && title == labels.title {
        let mut limit = series(
            labels.series[1],
            values(&points, |p| mib(p.maxmemory_bytes)),
        );
        limit.stroke_dash_array = Some("6,4".into());
        series_list.push(limit);
    }
    let mut chart = line_chart(width, &title, series_list, time_labels(&points));
    if let Some(axis) = chart.y_axis_configs.first_mut() {
        axis.min = Some(0.0);
        // The unit is in the title, in the page's language.
        axis.formatter = Some("{c}".into());
    }
    let lang = labels.lang;
    let newest = latest(&points, labels, |p| {
        vec![
            (labels.series[0], Some(lang.bytes(p.used_memory_bytes))),
            (
                labels.series[1],
                (p.maxmemory_bytes > 0).then(|| lang.bytes(p.maxmemory_bytes)),
            ),
        ]
    });
    with_tooltip(
        render(labels.title, labels.unavailable, || chart.svg()),
        &newest,
    )
}

/// Commands per second and evictions per second.
pub fn throughput_chart(points: &[Point], labels: &LineLabels, width: f32) -> String {
    let points = downsample(points, MAX_POINTS);
    let chart = line_chart(
        width,
        labels.title,
        vec![
            series(labels.series[0], values(&points, |p| p.ops_per_sec)),
            series(labels.series[1], values(&points, |p| p.evicted_per_sec)),
        ],
        time_labels(&points),
    );
    let mut chart = chart;
    if let Some(axis) = chart.y_axis_configs.first_mut() {
        axis.min = Some(0.0);
    }
    let lang = labels.lang;
    let newest = latest(&points, labels, |p| {
        vec![
            (labels.series[0], p.ops_per_sec.map(|v| lang.decimal(v, 0))),
            (
                labels.series[1],
                p.evicted_per_sec.map(|v| lang.decimal(v, 1)),
            ),
        ]
    });
    with_tooltip(
        render(labels.title, labels.unavailable, || chart.svg()),
        &newest,
    )
}

/// Several named series over the same labels (e.g. 429s per minute, one line per role).
pub fn multi_line_chart(
    labels: Vec<String>,
    series_list: Vec<(String, Vec<f64>)>,
    title: &str,
    unavailable: &str,
    width: f32,
) -> String {
    let series_list = series_list
        .into_iter()
        .map(|(name, values)| series(&name, values.into_iter().map(|v| Some(v as f32)).collect()))
        .collect();
    let mut chart = line_chart(width, title, series_list, labels);
    if let Some(axis) = chart.y_axis_configs.first_mut() {
        axis.min = Some(0.0);
    }
    render(title, unavailable, || chart.svg())
}

/// Horizontal bars, one row per name: names of any length stay readable (cut with "…" and
/// whole in the row's tooltip), each value is written at its bar's end in the page's
/// language, and every row's `<title>` holds the exact figure. Names come from Redis (key
/// prefixes): escaped, and marked `translate="no"`.
pub fn bar_chart(bars: &[(String, f64)], title: &str, values: BarValues) -> String {
    const ROW: f32 = 22.0;
    const TOP: f32 = 30.0;
    const CHAR: f32 = 6.6; // average glyph width at 12 px, for fitting names and values
    let width = values.width.clamp(MIN_WIDTH, MAX_WIDTH);
    let height = TOP + ROW * bars.len().max(1) as f32 + 8.0;
    let written: Vec<String> = bars.iter().map(|(_, value)| values.write(*value)).collect();
    let longest_value = written.iter().map(|w| w.chars().count()).max().unwrap_or(1) as f32;
    let value_width = longest_value * CHAR + 10.0;
    let longest_name = bars
        .iter()
        .map(|(n, _)| n.chars().count())
        .max()
        .unwrap_or(1) as f32;
    let name_width = (longest_name * CHAR + 8.0).min(width * 0.4);
    let bar_space = (width - name_width - value_width - 8.0).max(10.0);
    let largest = bars.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max);
    let fit = ((name_width - 8.0) / CHAR).max(3.0) as usize;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" font-family=\"{FONT_FAMILY}\" font-size=\"12\" \
         role=\"img\" aria-label=\"{title}\">\
         <text x=\"{x}\" y=\"18\" font-size=\"14\" font-weight=\"bold\" text-anchor=\"middle\" fill=\"#464646\">{title}</text>",
        title = escape_html(title),
        x = width / 2.0,
    );
    for (row, ((name, value), shown)) in bars.iter().zip(&written).enumerate() {
        let y = TOP + ROW * row as f32;
        let length = if largest > 0.0 {
            (*value / largest) as f32 * bar_space
        } else {
            0.0
        };
        let cut = if name.chars().count() > fit {
            let kept: String = name.chars().take(fit.saturating_sub(1)).collect();
            format!("{kept}…")
        } else {
            name.clone()
        };
        svg.push_str(&format!(
            "<g data-bar=\"{name}\"><title translate=\"no\">{name}: {shown}</title>\
             <text x=\"{label_end}\" y=\"{text_y}\" text-anchor=\"end\" fill=\"#464646\" translate=\"no\">{cut}</text>\
             <rect x=\"{bar_x}\" y=\"{bar_y}\" width=\"{length}\" height=\"14\" rx=\"2\" fill=\"#5470c6\"/>\
             <text x=\"{value_x}\" y=\"{text_y}\" fill=\"#464646\">{shown}</text></g>",
            name = escape_html(name),
            cut = escape_html(&cut),
            shown = escape_html(shown),
            label_end = name_width,
            text_y = y + 12.0,
            bar_x = name_width + 6.0,
            bar_y = y + 1.0,
            value_x = name_width + 10.0 + length,
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// charts-rs writes axis numbers the English way (`0.5`, `5.3k`); for Russian every text
/// node that is such a number is rewritten (`0,5`, `5,3 тыс.`). Other text is left alone.
pub fn numbers_in_language(svg: &str, lang: crate::model::Lang) -> String {
    if lang == crate::model::Lang::En {
        return svg.to_owned();
    }
    let mut out = String::with_capacity(svg.len() + 64);
    let mut rest = svg;
    while let Some(open) = rest.find('>') {
        out.push_str(&rest[..=open]);
        rest = &rest[open + 1..];
        let end = rest.find('<').unwrap_or(rest.len());
        let node = &rest[..end];
        out.push_str(&russian_number(node).unwrap_or_else(|| node.to_owned()));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// `5.3k` → `5,3 тыс.`; `None` unless the whole text is a number, with an optional
/// charts-rs magnitude suffix and an optional ` %`.
fn russian_number(text: &str) -> Option<String> {
    let trimmed = text.trim();
    let (number, percent) = match trimmed.strip_suffix('%') {
        Some(number) => (number.trim_end(), true),
        None => (trimmed, false),
    };
    let (digits, magnitude) = match number.char_indices().last() {
        Some((at, 'k')) => (&number[..at], Some("тыс.")),
        Some((at, 'M')) => (&number[..at], Some("млн")),
        Some((at, 'G')) => (&number[..at], Some("млрд")),
        Some((at, 'T')) => (&number[..at], Some("трлн")),
        _ => (number, None),
    };
    let unsigned = digits.strip_prefix('-').unwrap_or(digits);
    let numeric = !unsigned.is_empty()
        && unsigned.chars().all(|c| c.is_ascii_digit() || c == '.')
        && unsigned.matches('.').count() <= 1
        && !unsigned.starts_with('.');
    if !numeric {
        return None;
    }
    let mut written = digits.replace('.', ",");
    if let Some(magnitude) = magnitude {
        written.push('\u{a0}');
        written.push_str(magnitude);
    }
    if percent {
        written.push_str("\u{a0}%");
    }
    Some(written)
}

/// How a bar chart writes its values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BarValues {
    pub lang: crate::model::Lang,
    /// Byte counts (written `1,5 МиБ`) rather than plain counts.
    pub bytes: bool,
    pub width: f32,
}

impl BarValues {
    fn write(self, value: f64) -> String {
        let whole = value.max(0.0).round() as u64;
        if self.bytes {
            self.lang.bytes(whole)
        } else {
            self.lang.count(whole)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(count: usize) -> Vec<Point> {
        (0..count)
            .map(|i| Point {
                at_ms: 1_700_000_000_000 + i as i64 * 2000,
                hit_rate_percent: Some(60.0 + (i % 30) as f64),
                ops_per_sec: Some(100.0),
                evicted_per_sec: Some(0.0),
                used_memory_bytes: 100 << 20,
                maxmemory_bytes: 512 << 20,
                total_keys: 10,
            })
            .collect()
    }

    #[test]
    fn line_charts_carry_the_newest_exact_figures_as_their_tooltip() {
        let svg = hit_rate_chart(&points(3), 70.0, &LABELS, 600.0);
        let root_end = svg.find('>').unwrap_or(0);
        assert!(
            svg[root_end..].starts_with("><title>Доля попаданий — "),
            "the root's first child: {}",
            &svg[..root_end + 60]
        );
        assert!(svg.contains("UTC — окно: 62,0\u{a0}%</title>"), "{svg}");
        let memory = memory_chart(&points(2), &LABELS, 600.0);
        assert!(memory.contains("окно: 100,0\u{a0}МиБ · цель 70 %: 512,0\u{a0}МиБ</title>"));
    }

    #[test]
    fn a_maxmemory_far_above_the_use_is_named_not_drawn() {
        let mut far = points(5);
        for point in &mut far {
            point.used_memory_bytes = 3 << 20;
            point.maxmemory_bytes = 512 << 20;
        }
        let svg = memory_chart(&far, &LABELS, 600.0);
        assert!(svg.contains("(цель 70 % 512,0\u{a0}МиБ)"), "{svg}");
        assert!(!svg.contains("6,4"), "no dashed limit line");
        let mut near = points(5);
        for point in &mut near {
            point.used_memory_bytes = 200 << 20; // of 512 MiB
        }
        let svg = memory_chart(&near, &LABELS, 600.0);
        assert!(
            svg.contains("6,4"),
            "the limit drawn when the use is near it"
        );
    }

    const LABELS: LineLabels = LineLabels {
        title: "Доля попаданий",
        series: ["окно", "цель 70 %"],
        unavailable: "— не удалось построить график",
        lang: crate::model::Lang::Ru,
    };

    #[test]
    fn a_chart_that_cannot_be_drawn_shows_an_error_state_not_an_empty_frame() {
        let shown = render(
            "<Память>",
            "— не удалось построить график",
            || {
                Err(charts_rs::Error::Params {
                    message: "bad \"width\"".into(),
                })
            },
        );
        assert!(shown.contains("data-testid=\"chart-error\""), "{shown}");
        assert!(shown.contains("&lt;Память&gt;"), "{shown}");
        assert!(shown.contains("не удалось построить"), "{shown}");
        assert!(
            shown.contains("&quot;width&quot;"),
            "the cause, escaped: {shown}"
        );
    }

    #[test]
    fn the_hit_rate_chart_is_an_svg_with_cyrillic_labels_and_the_target_line() {
        let svg = hit_rate_chart(&points(100), 70.0, &LABELS, 600.0);
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("Доля попаданий"));
        assert!(svg.contains("цель 70 %"));
        assert!(svg.contains("6,4"), "the target line is dashed");
    }

    #[test]
    fn text_from_redis_is_escaped_not_markup() {
        let groups = vec![
            ("<script>alert(1)</script>".to_owned(), 5.0),
            ("user:".to_owned(), 3.0),
        ];
        let svg = bar_chart(&groups, "<b>keys</b>", BAR_COUNTS);
        assert!(svg.starts_with("<svg"));
        assert!(!svg.contains("<script>"));
        assert!(!svg.contains("<b>"));
        assert!(svg.contains("&lt;script&gt;"));
    }

    const BAR_COUNTS: BarValues = BarValues {
        lang: crate::model::Lang::Ru,
        bytes: false,
        width: 600.0,
    };

    #[test]
    fn bars_keep_long_names_apart_and_carry_exact_values_in_tooltips() {
        let groups = vec![
            ("analytics:".to_owned(), 1234.0),
            ("contract_employees:".to_owned(), 56.0),
            ("owner_objects:".to_owned(), 0.0),
        ];
        let svg = bar_chart(&groups, "Ключи по группам", BAR_COUNTS);
        assert_eq!(svg.matches("<g data-bar=").count(), 3, "one row per group");
        assert!(svg.contains(">analytics:: 1\u{a0}234</title>"), "{svg}");
        assert!(svg.contains(">contract_employees:: 56</title>"));
        assert!(svg.contains("translate=\"no\">analytics:</text>"));
        let narrow = bar_chart(
            &[("a_very_long_prefix_of_some_service:".to_owned(), 1.0)],
            "t",
            BarValues {
                width: 300.0,
                ..BAR_COUNTS
            },
        );
        assert!(narrow.contains("…</text>"), "cut to fit: {narrow}");
        assert!(narrow.contains(">a_very_long_prefix_of_some_service:: 1</title>"));
        let bytes = bar_chart(
            &[("user:".to_owned(), 1536.0)],
            "t",
            BarValues {
                bytes: true,
                lang: crate::model::Lang::En,
                width: 600.0,
            },
        );
        assert!(bytes.contains(">1.5\u{a0}KiB</text>"), "{bytes}");
    }

    #[test]
    fn russian_charts_write_numbers_the_russian_way_and_leave_other_text() {
        let svg = "<svg><text x=\"1.5\">5.3k</text><text>0.5</text><text>100 %</text>\
                   <text>12</text><text>v1.2</text><text>14:05</text><text>-2.5M</text></svg>";
        assert_eq!(
            numbers_in_language(svg, crate::model::Lang::Ru),
            "<svg><text x=\"1.5\">5,3\u{a0}тыс.</text><text>0,5</text><text>100\u{a0}%</text>\
             <text>12</text><text>v1.2</text><text>14:05</text><text>-2,5\u{a0}млн</text></svg>"
        );
        assert_eq!(numbers_in_language(svg, crate::model::Lang::En), svg);
    }

    #[test]
    fn width_follows_the_container_within_bounds() {
        let narrow = hit_rate_chart(&points(10), 70.0, &LABELS, 100.0);
        assert!(narrow.contains(&format!("width=\"{}\"", MIN_WIDTH)));
        let wide = hit_rate_chart(&points(10), 70.0, &LABELS, 5000.0);
        assert!(wide.contains(&format!("width=\"{}\"", MAX_WIDTH)));
    }

    #[test]
    fn iframe_widths_from_480_to_1600_get_one_or_two_readable_columns() {
        assert_eq!(chart_width_for(480.0), 424.0);
        assert_eq!(chart_width_for(959.0), 800.0_f32.min(903.0));
        assert_eq!(chart_width_for(1024.0), 476.0);
        assert_eq!(chart_width_for(1600.0), 764.0);
        assert_eq!(chart_width_for(200.0), MIN_WIDTH);
    }

    #[test]
    fn long_series_are_averaged_into_a_bounded_number_of_points() {
        let sampled = downsample(&points(1800), MAX_POINTS);
        assert!(sampled.len() <= MAX_POINTS);
        assert_eq!(
            sampled.last().map(|p| p.at_ms),
            points(1800).last().map(|p| p.at_ms)
        );
        let mean: f64 = sampled
            .iter()
            .filter_map(|p| p.hit_rate_percent)
            .sum::<f64>()
            / sampled.len() as f64;
        assert!((mean - 74.5).abs() < 1.0, "{mean}");
    }

    #[test]
    fn gaps_stay_gaps() {
        let mut with_gap = points(3);
        with_gap[1].hit_rate_percent = None;
        let svg = hit_rate_chart(&with_gap, 70.0, &LABELS, 600.0);
        assert!(svg.starts_with("<svg"));
        assert_eq!(downsample(&with_gap, 10)[1].hit_rate_percent, None);
    }

    #[test]
    fn an_empty_history_still_draws_a_frame() {
        let svg = memory_chart(&[], &LABELS, 600.0);
        assert!(svg.is_empty() || svg.starts_with("<svg"));
    }
}
