//! Every figure goes next to a baseline measured in the same run, with the ratio; printed as it is
//! measured, and again as one table at the end.

pub struct Row {
    scenario: &'static str,
    measure: String,
    value: String,
    baseline: String,
    ratio: String,
}

#[derive(Default)]
pub struct Report {
    rows: Vec<Row>,
}

impl Report {
    /// One figure: `value` next to `baseline` (what it is compared with, named), and the ratio.
    pub fn add(
        &mut self,
        scenario: &'static str,
        measure: impl Into<String>,
        value: impl Into<String>,
        baseline: impl Into<String>,
        ratio: impl Into<String>,
    ) {
        let row = Row {
            scenario,
            measure: measure.into(),
            value: value.into(),
            baseline: baseline.into(),
            ratio: ratio.into(),
        };
        println!(
            "  = {}: {} | {} | {}",
            row.measure, row.value, row.baseline, row.ratio
        );
        self.rows.push(row);
    }

    /// A figure without a baseline (a count, a state).
    pub fn note(&mut self, scenario: &'static str, measure: impl Into<String>, value: String) {
        self.add(scenario, measure, value, "", "");
    }

    /// The whole run as a Markdown table (pasted into the README as it is).
    pub fn print_table(&self) {
        let header = [
            "scenario",
            "measure",
            "todo-api",
            "baseline (same run)",
            "ratio",
        ];
        let rows: Vec<[&str; 5]> = self
            .rows
            .iter()
            .map(|r| {
                [
                    r.scenario,
                    r.measure.as_str(),
                    r.value.as_str(),
                    r.baseline.as_str(),
                    r.ratio.as_str(),
                ]
            })
            .collect();
        let mut width = header.map(str::len);
        for row in &rows {
            for (w, cell) in width.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |row: [&str; 5]| {
            let mut out = String::from("|");
            for (i, (cell, w)) in row.iter().zip(width).enumerate() {
                let pad = w - cell.chars().count();
                if i == 2 || i == 4 {
                    out.push_str(&format!(" {}{cell} |", " ".repeat(pad)));
                } else {
                    out.push_str(&format!(" {cell}{} |", " ".repeat(pad)));
                }
            }
            println!("{out}");
        };
        line(header);
        println!(
            "|{}|",
            width
                .iter()
                .enumerate()
                .map(|(i, w)| if i == 2 || i == 4 {
                    format!("{}:", "-".repeat(w + 1))
                } else {
                    "-".repeat(w + 2)
                })
                .collect::<Vec<_>>()
                .join("|")
        );
        for row in rows {
            line(row);
        }
    }
}

/// `a / b` as "1.23x", or "n/a" when either is missing.
pub fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 && a >= 0.0 && a.is_finite() && b.is_finite() {
        let r = a / b;
        if r > 0.0 && r < 0.1 {
            format!("{r:.3}x")
        } else {
            format!("{r:.2}x")
        }
    } else {
        "n/a".into()
    }
}

/// Microseconds as milliseconds with a sensible number of digits; negative means "none measured".
pub fn ms(us: f64) -> String {
    if us.is_nan() || us < 0.0 || us.is_infinite() {
        return "n/a".into();
    }
    let millis = us / 1e3;
    if millis >= 100.0 {
        format!("{millis:.0} ms")
    } else if millis >= 10.0 {
        format!("{millis:.1} ms")
    } else {
        format!("{millis:.2} ms")
    }
}

pub fn us(us: f64) -> String {
    if !us.is_finite() {
        return "n/a".into();
    }
    format!("{us:.0} us")
}

pub fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// A count or rate with thousands separators: 12345.6 -> "12,346".
pub fn int(x: f64) -> String {
    if !x.is_finite() {
        return "n/a".into();
    }
    let n = x.round() as i64;
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

pub fn share(fraction: f64) -> String {
    format!("{:.0}%", fraction * 100.0)
}
