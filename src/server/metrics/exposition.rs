//! The Prometheus text format (0.0.4): families written once, HELP and TYPE first, samples
//! together, label values escaped.

use std::fmt::Write as _;

/// Collects metric families. Samples may arrive in any order (target by target); each family
/// is written once, HELP and TYPE first, with all its samples together, as the format needs.
pub struct Exposition {
    families: Vec<Family>,
    current: usize,
}

struct Family {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    samples: String,
}

impl Exposition {
    pub fn new() -> Self {
        Self {
            families: Vec::new(),
            current: 0,
        }
    }

    pub fn family(&mut self, name: &'static str, kind: &'static str, help: &'static str) {
        self.current = match self.families.iter().position(|f| f.name == name) {
            Some(index) => index,
            None => {
                self.families.push(Family {
                    name,
                    kind,
                    help,
                    samples: String::new(),
                });
                self.families.len() - 1
            }
        };
    }

    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        let Some(family) = self.families.get_mut(self.current) else {
            return;
        };
        let text = &mut family.samples;
        text.push_str(name);
        if !labels.is_empty() {
            text.push('{');
            for (index, (label, label_value)) in labels.iter().enumerate() {
                if index > 0 {
                    text.push(',');
                }
                let _ = write!(text, "{label}=\"{}\"", escape(label_value));
            }
            text.push('}');
        }
        let _ = writeln!(text, " {}", number(value));
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for family in &self.families {
            let _ = writeln!(out, "# HELP {} {}", family.name, family.help);
            let _ = writeln!(out, "# TYPE {} {}", family.name, family.kind);
            out.push_str(&family.samples);
        }
        out
    }
}

/// Label values escape backslash, double quote and newline (the format's three specials).
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped_and_numbers_written_plainly() {
        let mut out = Exposition::new();
        out.family("x_total", "counter", "A thing.");
        out.sample("x_total", &[("group", "a\"b\\c\nd")], 3.0);
        out.sample("x_total", &[("group", "e")], 0.25);
        out.family("y", "gauge", "Another.");
        out.sample("y", &[], 1.0);
        // A later sample of the first family joins it, not a second block.
        out.family("x_total", "counter", "A thing.");
        out.sample("x_total", &[("group", "f")], 1.0);
        assert_eq!(
            out.render(),
            "# HELP x_total A thing.\n# TYPE x_total counter\nx_total{group=\"a\\\"b\\\\c\\nd\"} 3\nx_total{group=\"e\"} 0.25\nx_total{group=\"f\"} 1\n# HELP y Another.\n# TYPE y gauge\ny 1\n"
        );
    }
}
