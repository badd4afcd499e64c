//! A picture of a run: `timeline.svg`, one lane per client with its operations as bars
//! (green `ok`, orange `fail`, grey `info`), the faults shaded across every lane, the
//! anomalies in red, and a table of latency percentiles per operation. Plain SVG text,
//! with no external assets, so that it opens in any browser.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::checker::Anomaly;
use crate::history::{pair_up, Event, Kind, Op};
use crate::nemesis::{Fault, FaultKind};

const WIDTH: f64 = 1400.0;
const LEFT: f64 = 70.0;
const TOP: f64 = 40.0;
const LANE: f64 = 16.0;

/// Renders the run as an SVG document.
pub fn render(events: &[Event], faults: &[Fault], anomalies: &[Anomaly]) -> String {
    let ops = pair_up(events);
    let end = events.last().map_or(1, |e| e.time.max(1)) as f64;
    let lanes = ops.iter().map(|o| o.client + 1).max().unwrap_or(1);
    let x = |t: u64| LEFT + (t as f64).min(end) / end * (WIDTH - LEFT - 10.0);
    let lanes_bottom = TOP + lanes as f64 * LANE;
    let table = latency_table(&ops);
    let height = lanes_bottom + 60.0 + 16.0 * table.len() as f64;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="monospace" font-size="11">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{LEFT}" y="16">{} ops, {} faults, {} anomalies; {:.1} s (green ok, orange fail, grey info, red anomaly)</text>"#,
        ops.len(),
        faults.len(),
        anomalies.len(),
        end / 1e9
    );
    for f in faults {
        let (x0, x1) = (x(f.start), x(f.end));
        let _ = writeln!(
            svg,
            r#"<rect x="{x0:.1}" y="{}" width="{:.1}" height="{}" fill="{}" opacity="0.5"><title>{:?} {:?}</title></rect>"#,
            TOP - 12.0,
            (x1 - x0).max(1.0),
            lanes_bottom - TOP + 12.0,
            fault_colour(f.kind),
            f.kind,
            f.targets
        );
        let _ = writeln!(
            svg,
            r#"<text x="{x0:.1}" y="{}" font-size="9">{}</text>"#,
            TOP - 3.0,
            fault_label(f)
        );
    }
    for lane in 0..lanes {
        let y = TOP + lane as f64 * LANE;
        let _ = writeln!(
            svg,
            r#"<text x="4" y="{:.1}">client {lane}</text>"#,
            y + 11.0
        );
    }
    for o in &ops {
        let (x0, x1) = (x(o.invoked), x(o.completed.unwrap_or(end as u64)));
        let y = TOP + o.client as f64 * LANE + 2.0;
        let _ = writeln!(
            svg,
            r#"<rect x="{x0:.1}" y="{y:.1}" width="{:.1}" height="{}" fill="{}"><title>{} {} {:?} -> {:?} {:?}</title></rect>"#,
            (x1 - x0).max(0.8),
            LANE - 4.0,
            kind_colour(o.kind),
            o.op,
            o.key,
            o.arg,
            o.kind,
            o.result
        );
    }
    for a in anomalies {
        draw_anomaly(&mut svg, a, &x, lanes_bottom);
    }
    let mut y = lanes_bottom + 30.0;
    let _ = writeln!(
        svg,
        r#"<text x="{LEFT}" y="{y}">latency (ms) of completed ops</text>"#
    );
    for line in table {
        y += 16.0;
        let _ = writeln!(
            svg,
            r#"<text x="{LEFT}" y="{y}" xml:space="preserve">{line}</text>"#
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn draw_anomaly(svg: &mut String, a: &Anomaly, x: &dyn Fn(u64) -> f64, bottom: f64) {
    let title = escape(&format!("{} {}: {}", a.kind, a.key, a.detail));
    let Some([t0, t1]) = a.span else {
        return;
    };
    let (x0, x1) = (x(t0), x(t1));
    let (y, h) = match a.client {
        Some(c) => (TOP + c as f64 * LANE, LANE),
        None => (TOP, bottom - TOP),
    };
    let _ = writeln!(
        svg,
        r#"<rect x="{:.1}" y="{y:.1}" width="{:.1}" height="{h}" fill="red" stroke="red" stroke-width="2"><title>{title}</title></rect>"#,
        x0 - 2.0,
        (x1 - x0).max(1.0) + 4.0
    );
    let _ = writeln!(
        svg,
        r#"<line x1="{x0:.1}" y1="{}" x2="{x0:.1}" y2="{bottom}" stroke="red" stroke-dasharray="3,3"/>"#,
        TOP - 12.0
    );
}

/// `op  n  p50  p95  p99  max` for every operation name, over the ops that completed
/// (`ok` or `fail`; an `info` has no latency worth the name).
pub fn latency_table(ops: &[Op]) -> Vec<String> {
    let mut by_op: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for o in ops {
        if let (Some(c), Kind::Ok | Kind::Fail) = (o.completed, o.kind) {
            by_op.entry(o.op.as_str()).or_default().push(c - o.invoked);
        }
    }
    let mut lines = vec![format!(
        "{:<12} {:>7} {:>8} {:>8} {:>8} {:>8}",
        "op", "n", "p50", "p95", "p99", "max"
    )];
    for (op, mut lat) in by_op {
        lat.sort_unstable();
        let pct = |p: f64| {
            let i = ((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1;
            lat[i] as f64 / 1e6
        };
        lines.push(format!(
            "{:<12} {:>7} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
            op,
            lat.len(),
            pct(0.50),
            pct(0.95),
            pct(0.99),
            pct(1.0)
        ));
    }
    lines
}

fn kind_colour(k: Kind) -> &'static str {
    match k {
        Kind::Ok => "#43a047",
        Kind::Fail => "#fb8c00",
        Kind::Info | Kind::Invoke => "#9e9e9e",
    }
}

fn fault_colour(k: FaultKind) -> &'static str {
    match k {
        FaultKind::Kill => "#f8bbd0",
        FaultKind::Pause => "#bbdefb",
        FaultKind::RestartAll => "#d1c4e9",
    }
}

fn fault_label(f: &Fault) -> String {
    let ids: Vec<String> = f.targets.iter().map(|t| format!("n{t}")).collect();
    let kind = match f.kind {
        FaultKind::Kill => "kill",
        FaultKind::Pause => "pause",
        FaultKind::RestartAll => "restart-all",
    };
    format!("{kind} {}", ids.join(","))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Value;

    #[test]
    fn the_picture_has_a_lane_per_client_faults_anomalies_and_percentiles() {
        let ev = |time, client, kind| Event {
            time,
            client,
            kind,
            op: "read".into(),
            key: "/r/0".into(),
            value: Value::Null,
        };
        let events = [
            ev(0, 0, Kind::Invoke),
            ev(2_000_000, 0, Kind::Ok),
            ev(1, 1, Kind::Invoke),
            ev(3_000_000, 1, Kind::Info),
        ];
        let faults = [Fault {
            kind: FaultKind::Pause,
            targets: vec![1],
            start: 10,
            end: 1_000_000,
        }];
        let anomaly = Anomaly {
            kind: "nonlinearizable".into(),
            key: "/r/0".into(),
            detail: "a <stale> read".into(),
            client: Some(0),
            span: Some([0, 2_000_000]),
        };
        let svg = render(&events, &faults, &[anomaly]);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("client 0") && svg.contains("client 1"));
        assert!(svg.contains("pause n1"));
        assert!(svg.contains(r#"fill="red""#) && svg.contains("a &lt;stale&gt; read"));
        // One completed read of 2 ms: every percentile is 2.00.
        assert!(
            svg.contains("read               1     2.00     2.00     2.00     2.00"),
            "{svg}"
        );
    }
}
