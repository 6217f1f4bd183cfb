//! Human-readable plan output in the style of Terraform: one block per
//! changed resource with `+ ~ - -/+`, attribute-level diffs (line diffs of
//! changed values by the `similar` crate), "(known after apply)" for values
//! that only exist once a dependency is created, and a summary line.

use std::fmt::Write as _;

use serde_json::Value;
use similar::{ChangeTag, TextDiff};

use super::refresh::{Drift, RefreshPlan};
use super::{Action, Change, Plan, has_unknown};
use crate::model::{Attrs, REF_KEY};

const UNKNOWN: &str = "(known after apply)";
/// Stands for an unknown value while a value is turned into JSON text.
const MARK: &str = "<privlink:unknown-value>";

/// Colours for terminals; `Style::plain()` for files, pipes and `NO_COLOR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// True to add ANSI colour codes.
    pub color: bool,
}

impl Style {
    /// No colour.
    pub fn plain() -> Self {
        Style { color: false }
    }
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }
    fn sym(&self, a: Action) -> String {
        let code = match a {
            Action::Create => "32",
            Action::Delete => "31",
            Action::Update => "33",
            Action::Replace => "35",
            Action::NoOp => "0",
        };
        self.paint(code, a.symbol())
    }
    fn line(&self, tag: ChangeTag, s: &str) -> String {
        match tag {
            ChangeTag::Insert => self.paint("32", s),
            ChangeTag::Delete => self.paint("31", s),
            ChangeTag::Equal => s.to_owned(),
        }
    }
}

/// Replaces references by a marker so that values print as JSON.
fn mark_unknown(v: &Value) -> Value {
    match v {
        Value::Object(m) if m.contains_key(REF_KEY) => Value::String(MARK.to_owned()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), mark_unknown(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(mark_unknown).collect()),
        other => other.clone(),
    }
}

/// A value as shown in a plan: JSON, with unknown parts as "(known after apply)".
pub fn show_value(v: &Value) -> String {
    let text = if matches!(v, Value::Array(a) if a.len() > 1) || matches!(v, Value::Object(_)) {
        serde_json::to_string_pretty(&mark_unknown(v)).unwrap_or_default()
    } else {
        serde_json::to_string(&mark_unknown(v)).unwrap_or_default()
    };
    text.replace(&format!("\"{MARK}\""), UNKNOWN)
}

fn indent(text: &str, pad: &str) -> String {
    let mut out = String::new();
    for (i, l) in text.lines().enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(pad);
        }
        out.push_str(l);
    }
    out
}

fn headline(c: &Change) -> String {
    let what = match c.action {
        Action::NoOp => "is unchanged",
        Action::Create if c.resume => "will finish being created",
        Action::Create => "will be created",
        Action::Update => "will be updated in place",
        Action::Replace => "must be replaced",
        Action::Delete => "will be destroyed",
    };
    let mut s = format!("# {} {}", c.address, what);
    if !c.reasons.is_empty() {
        let _ = write!(s, " ({})", c.reasons.join("; "));
    }
    s
}

fn width(keys: impl Iterator<Item = usize>) -> usize {
    keys.max().unwrap_or(0)
}

/// Renders one change block.
pub fn render_change(c: &Change, style: Style, out: &mut String) {
    let _ = writeln!(out, "  {}", headline(c));
    render_block(c, style, out);
}

/// Renders the attributes of one change, without its headline.
fn render_block(c: &Change, style: Style, out: &mut String) {
    let _ = writeln!(
        out,
        "{:>3} {} \"{}\" {{",
        style.sym(c.action),
        c.kind,
        c.address
    );
    let empty = Attrs::new();
    let before = c.before.as_ref().unwrap_or(&empty);
    let after = c.after.as_ref().unwrap_or(&empty);
    if let Some(id) = &c.id {
        let _ = writeln!(
            out,
            "        id = {}",
            show_value(&Value::String(id.clone()))
        );
    }
    match c.action {
        Action::Create => {
            let w = width(after.keys().map(String::len));
            for (k, v) in after {
                let pad = " ".repeat(w + 11);
                let _ = writeln!(
                    out,
                    "      {} {:w$} = {}",
                    style.sym(Action::Create),
                    k,
                    indent(&show_value(v), &pad)
                );
            }
        }
        Action::Delete => {
            let w = width(before.keys().map(String::len));
            for (k, v) in before {
                let pad = " ".repeat(w + 11);
                let _ = writeln!(
                    out,
                    "      {} {:w$} = {}",
                    style.sym(Action::Delete),
                    k,
                    indent(&show_value(v), &pad)
                );
            }
        }
        Action::Update | Action::Replace | Action::NoOp => {
            let w = width(after.keys().map(String::len));
            for (k, new) in after {
                let old = before.get(k).unwrap_or(&Value::Null);
                let forces = if c.forces_replacement.contains(k) {
                    style.paint("31", " # forces replacement")
                } else {
                    String::new()
                };
                if !c.changed.contains(k) {
                    let _ = writeln!(
                        out,
                        "        {:w$} = {}",
                        k,
                        indent(&show_value(new), &" ".repeat(w + 11))
                    );
                    continue;
                }
                let _ = write!(out, "      {} {:w$} = ", style.sym(Action::Update), k);
                render_value_change(old, new, w, style, out);
                let _ = writeln!(out, "{forces}");
            }
        }
    }
    let _ = writeln!(out, "    }}");
}

fn render_value_change(old: &Value, new: &Value, w: usize, style: Style, out: &mut String) {
    let old_s = show_value(old);
    let new_s = show_value(new);
    let multiline = old_s.contains('\n') || new_s.contains('\n');
    let pad = " ".repeat(w + 9);
    if !multiline || has_unknown(new) && !new_s.contains('\n') {
        let _ = write!(out, "{} -> {}", indent(&old_s, &pad), indent(&new_s, &pad));
        return;
    }
    let diff = TextDiff::from_lines(&old_s, &new_s);
    let mut first = true;
    for change in diff.iter_all_changes() {
        let mark = match change.tag() {
            ChangeTag::Delete => "- ",
            ChangeTag::Insert => "+ ",
            ChangeTag::Equal => "  ",
        };
        let text = change.value().trim_end_matches('\n');
        if !first {
            out.push('\n');
            out.push_str(&pad);
        }
        first = false;
        out.push_str(&style.line(change.tag(), &format!("{mark}{text}")));
    }
}

/// Renders a whole plan with its summary line.
pub fn render_plan(plan: &Plan, style: Style) -> String {
    let mut out = String::new();
    let active: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .collect();
    if active.is_empty() {
        out.push_str("No changes. The clouds match the configuration.\n");
        return out;
    }
    let drifted: Vec<&Change> = plan.changes.iter().filter(|c| c.drift.is_some()).collect();
    if !drifted.is_empty() {
        out.push_str("Objects changed outside privlink:\n");
        for c in drifted {
            let side = c.drift.clone().unwrap_or_default();
            let _ = writeln!(out, "  {} ({side}): {}", c.address, c.reasons.join("; "));
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "privlink will perform the following actions on stack \"{}\":\n",
        plan.stack
    );
    for c in active {
        render_change(c, style, &mut out);
        out.push('\n');
    }
    let _ = writeln!(out, "{}", summary_line(plan));
    out
}

/// `Plan: A to add, C to change, D to destroy.`, saying when the plan
/// replaces linked endpoints (their connection strings change).
pub fn summary_line(plan: &Plan) -> String {
    let s = plan.summary();
    let linked = match plan.linked_endpoints_replaced().len() {
        0 => String::new(),
        1 => " (replaces 1 linked endpoint: its connection string changes)".to_owned(),
        n => format!(" (replaces {n} linked endpoints: their connection strings change)"),
    };
    format!(
        "Plan: {} to add, {} to change, {} to destroy{linked}.",
        s.add, s.change, s.destroy
    )
}

/// The text of a refresh-only plan that found no difference.
pub const REFRESH_NO_CHANGES: &str =
    "No changes. Your infrastructure still matches the configuration.";

/// Renders a refresh-only plan: the objects changed outside privlink, in
/// the shape of plan blocks (`~` changed, `-` deleted), or that none was.
pub fn render_refresh(plan: &RefreshPlan, style: Style) -> String {
    let mut out = String::new();
    if plan.is_empty() {
        let _ = writeln!(
            out,
            "{REFRESH_NO_CHANGES}\n\nprivlink has checked that the real remote objects still match \
             the result of your most recent changes, and found no differences."
        );
        return out;
    }
    out.push_str(
        "Note: Objects have changed outside of privlink\n\n\
         privlink detected the following changes made outside of privlink since the last \
         \"privlink apply\":\n\n",
    );
    for d in &plan.drifts {
        let what = if d.deleted() {
            format!("has been deleted ({} no longer has it)", d.cloud)
        } else {
            format!("has changed ({})", d.cloud)
        };
        let _ = writeln!(out, "  # {} {what}", d.address);
        render_block(&drift_change(d), style, &mut out);
        out.push('\n');
    }
    let (changed, gone) = plan.counts();
    let _ = writeln!(
        out,
        "This is a refresh-only plan, so privlink will not take any actions to undo these. \
         If you were expecting these changes then you can apply this plan to record the \
         updated values in the privlink state without changing any remote objects.\n\n\
         Refresh: {changed} to record, {gone} to forget."
    );
    out
}

/// A drift in the shape of a change, for [`render_block`]: a deletion
/// when the object is gone, an update from recorded to live otherwise.
fn drift_change(d: &Drift) -> Change {
    Change {
        address: d.address.clone(),
        kind: d.kind,
        action: if d.deleted() {
            Action::Delete
        } else {
            Action::Update
        },
        reasons: vec![],
        id: d.id.clone(),
        before: Some(d.before.clone()),
        after: d.after.clone(),
        changed: d.changed.clone(),
        forces_replacement: vec![],
        depends_on: vec![],
        resume: false,
        drift: Some(d.cloud.clone()),
    }
}
