//! Evaluations written as the Frontend API lists them, `{"toggles":[…]}`, a piece at a time.
//!
//! A Frontend API request evaluates every flag and writes each one that is on: the server's
//! hottest per-flag loop. It lives beside the engine so that the loop, and the evaluation
//! inlined into it, are compiled as the engine is (for speed; the server's own crate is
//! optimised for size). Nothing here is generic, so no caller compiles its own copy.

use chrono::{DateTime, Utc};

use crate::{Context, Engine, Evaluation};

/// How far a list has been written.
#[derive(Debug, Clone, Default)]
pub struct ToggleListCursor {
    /// The next flag to evaluate, in snapshot order.
    position: usize,
    /// Whether a toggle has been written (the next one needs a comma).
    listed_any: bool,
    finished: bool,
}

impl ToggleListCursor {
    /// The next flag to evaluate, in snapshot order.
    pub fn position(&self) -> usize {
        self.position
    }

    /// Whether the list has been closed.
    pub fn is_finished(&self) -> bool {
        self.finished
    }
}

impl Engine {
    /// Appends the next part of the list of flags that are on for `context` and whose project
    /// `visible` accepts (it is asked only about flags that are on), from `cursor` on, until
    /// `out` holds at least `piece_bytes` or the flags run out. The first part opens the list
    /// and the last closes it.
    pub fn write_toggles(
        &self,
        cursor: &mut ToggleListCursor,
        context: &Context,
        now: DateTime<Utc>,
        visible: &mut dyn FnMut(&str) -> bool,
        out: &mut Vec<u8>,
        piece_bytes: usize,
    ) -> serde_json::Result<()> {
        if cursor.finished {
            return Ok(());
        }
        if cursor.position == 0 {
            out.extend_from_slice(b"{\"toggles\":[");
        }
        while out.len() < piece_bytes {
            let Some(evaluation) = self.evaluate_at(cursor.position, context, now) else {
                out.extend_from_slice(b"]}");
                cursor.finished = true;
                break;
            };
            cursor.position += 1;
            let listed = evaluation.enabled && evaluation.project.is_some_and(&mut *visible);
            if listed {
                write_toggle(out, &evaluation, !cursor.listed_any)?;
                cursor.listed_any = true;
            }
        }
        Ok(())
    }
}

/// Writes one toggle of the list (with its leading comma unless `first`): byte for byte what
/// serde writes for the Frontend API's toggle, but with the keys as fixed text, so that only
/// names (and payloads) pass through the JSON escaper.
pub fn write_toggle(
    out: &mut Vec<u8>,
    evaluation: &Evaluation<'_>,
    first: bool,
) -> serde_json::Result<()> {
    let flag = |on: bool, yes: &'static [u8], no: &'static [u8]| if on { yes } else { no };
    if !first {
        out.push(b',');
    }
    out.extend_from_slice(b"{\"name\":");
    write_json_string(out, evaluation.name)?;
    out.extend_from_slice(b",\"enabled\":true,\"variant\":{\"name\":");
    write_json_string(out, evaluation.variant.name)?;
    out.extend_from_slice(flag(
        evaluation.variant.enabled,
        b",\"enabled\":true",
        b",\"enabled\":false",
    ));
    if let Some(payload) = evaluation.variant.payload {
        out.extend_from_slice(b",\"payload\":");
        serde_json::to_writer(&mut *out, payload)?;
    }
    out.extend_from_slice(flag(
        evaluation.enabled,
        b",\"feature_enabled\":true,\"featureEnabled\":true}",
        b",\"feature_enabled\":false,\"featureEnabled\":false}",
    ));
    out.extend_from_slice(flag(
        evaluation.impression_data,
        b",\"impressionData\":true}",
        b",\"impressionData\":false}",
    ));
    Ok(())
}

/// `text` as a JSON string. Flag and variant names almost never need escaping; copying them as
/// they are skips serde_json's byte-by-byte escaping.
fn write_json_string(out: &mut Vec<u8>, text: &str) -> serde_json::Result<()> {
    let plain = text
        .bytes()
        .all(|byte| byte >= 0x20 && byte != b'"' && byte != b'\\');
    if plain {
        out.reserve(text.len() + 2);
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
        Ok(())
    } else {
        serde_json::to_writer(&mut *out, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names that need escaping are written as serde writes them.
    #[test]
    fn json_strings_are_written_as_serde_writes_them() {
        for text in [
            "seed-flag-00002",
            "",
            "quote\"inside",
            "back\\slash",
            "tab\tand\nnewline\u{1}",
            "ünïcødé ✓ \u{7f}",
        ] {
            let mut written = Vec::new();
            write_json_string(&mut written, text).unwrap();
            assert_eq!(written, serde_json::to_vec(text).unwrap(), "{text:?}");
        }
    }

    /// A list written in small pieces is the list written at once, and it holds the flags that
    /// are on in visible projects, in order.
    #[test]
    fn pieces_join_into_the_whole_list() {
        let features: Vec<serde_json::Value> = (0..50)
            .map(|n| {
                serde_json::json!({
                    "name": format!("flag-{n:02}"),
                    "project": if n % 5 == 0 { "hidden" } else { "shown" },
                    "enabled": n % 3 != 0,
                    "strategies": [],
                })
            })
            .collect();
        let engine = Engine::compile(
            &serde_json::from_value(serde_json::json!({"version": 2, "features": features}))
                .unwrap(),
        );
        let now = Utc::now();
        let write = |piece_bytes| {
            let mut cursor = ToggleListCursor::default();
            let mut joined = Vec::new();
            let mut pieces = 0;
            while !cursor.is_finished() {
                let mut piece = Vec::new();
                engine
                    .write_toggles(
                        &mut cursor,
                        &Context::default(),
                        now,
                        &mut |project| project == "shown",
                        &mut piece,
                        piece_bytes,
                    )
                    .unwrap();
                joined.extend_from_slice(&piece);
                pieces += 1;
            }
            (joined, pieces)
        };
        let (whole, one) = write(usize::MAX);
        let (joined, many) = write(100);
        assert_eq!(one, 1);
        assert!(many > 10, "{many} pieces");
        assert_eq!(joined, whole);
        let list: serde_json::Value = serde_json::from_slice(&whole).unwrap();
        let names: Vec<&str> = list["toggles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|toggle| toggle["name"].as_str().unwrap())
            .collect();
        let expected: Vec<String> = (0..50)
            .filter(|n| n % 5 != 0 && n % 3 != 0)
            .map(|n| format!("flag-{n:02}"))
            .collect();
        assert_eq!(names, expected);
    }
}
