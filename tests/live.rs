//! `shutter run` in a real terminal: a pseudo-terminal (util-linux's
//! `script`) 60 columns wide, its output replayed into a screen, and the
//! screen asserted while the run goes on and once it has ended.

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use shutter_tests::{repo_root, shutter_bin};

const WORKFLOW: &str = "version: 1
name: live
steps:
  first: {uses: core.log, with: {message: starting up}}
  wait: {uses: core.sleep, needs: first, with: {duration: 3s}}
  items:
    uses: core.sleep
    needs: wait
    for_each: [vol-1, vol-2, vol-3]
    with: {duration: 1s}
  last:
    uses: core.fail
    needs: items
    with: {message: a very long failure message that goes on and on well beyond the sixty columns of this terminal}
";

/// What a terminal shows after the bytes the live view wrote: only the
/// sequences it uses (cursor up, carriage return, clear line, clear
/// below, colours) are understood; anything else would show as text.
#[derive(Debug, Default)]
struct Screen {
    lines: Vec<Vec<char>>,
    row: usize,
    col: usize,
}

impl Screen {
    fn feed(&mut self, text: &str) {
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\u{1b}' if chars.peek() == Some(&'[') => {
                    chars.next();
                    let mut arg = String::new();
                    while let Some(&next) = chars.peek() {
                        if next.is_ascii_digit() || next == ';' {
                            arg.push(next);
                            chars.next();
                        } else {
                            break;
                        }
                    }
                    match chars.next() {
                        Some('A') => self.row = self.row.saturating_sub(arg.parse().unwrap_or(1)),
                        Some('J') => {
                            let col = self.col;
                            self.line().truncate(col);
                            self.lines.truncate(self.row + 1);
                        }
                        Some('K') => self.line().clear(),
                        Some('m') => {}
                        other => {
                            panic!("a sequence the live view should not write: {arg}{other:?}")
                        }
                    }
                }
                '\r' => self.col = 0,
                '\n' => {
                    self.row += 1;
                    self.col = 0;
                }
                c => {
                    let col = self.col;
                    let line = self.line();
                    if line.len() <= col {
                        line.resize(col, ' ');
                        line.push(c);
                    } else {
                        line[col] = c;
                    }
                    self.col += 1;
                }
            }
        }
    }

    fn line(&mut self) -> &mut Vec<char> {
        if self.lines.len() <= self.row {
            self.lines.resize(self.row + 1, Vec::new());
        }
        &mut self.lines[self.row]
    }

    fn text(&self) -> Vec<String> {
        self.lines
            .iter()
            .map(|l| l.iter().collect::<String>().trim_end().to_owned())
            .collect()
    }
}

/// `shutter run` under a 60x30 pseudo-terminal; what it wrote, as it comes.
fn run_in_a_terminal(
    dir: &std::path::Path,
    env: &[(&str, &str)],
) -> (std::process::Child, Arc<Mutex<Vec<u8>>>) {
    let file = dir.join("live.yaml");
    std::fs::write(&file, WORKFLOW).expect("write");
    let command = format!(
        "stty cols 60 rows 30; exec {} run {} --db {}",
        shutter_bin().display(),
        file.display(),
        dir.join("live.db").display()
    );
    let mut child = Command::new("script")
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .current_dir(repo_root())
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("script (util-linux) runs");
    let output = Arc::new(Mutex::new(Vec::new()));
    let mut stdout = child.stdout.take().expect("piped");
    let kept = output.clone();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buffer) {
            if n == 0 {
                break;
            }
            kept.lock()
                .expect("no panic holding it")
                .extend_from_slice(&buffer[..n]);
        }
    });
    (child, output)
}

fn screen_of(output: &Arc<Mutex<Vec<u8>>>) -> Vec<String> {
    let bytes = output.lock().expect("no panic holding it").clone();
    let mut screen = Screen::default();
    screen.feed(&String::from_utf8_lossy(&bytes));
    screen.text()
}

#[test]
fn the_live_view_shows_every_step_in_place_and_ends_with_a_summary() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut child, output) = run_in_a_terminal(dir.path(), &[]);
    // Mid-run: the sleeping step runs, the steps after it are shown
    // pending, the header counts what ended.
    let began = Instant::now();
    let mid = loop {
        let screen = screen_of(&output);
        let running = screen
            .iter()
            .any(|l| l.contains("▶ wait") && l.contains("running"));
        if running {
            break screen;
        }
        assert!(
            began.elapsed() < Duration::from_secs(60),
            "the sleeping step never showed as running: {screen:#?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let joined = mid.join("\n");
    assert!(
        joined.contains("live running · 1/4 steps ended"),
        "{joined}"
    );
    assert!(
        joined.contains("✓ first") && joined.contains("succeeded"),
        "{joined}"
    );
    assert!(
        joined.contains("○ items") && joined.contains("○ last"),
        "not started yet, shown: {joined}"
    );
    assert!(
        joined.contains("first: starting up"),
        "the log line above the board: {joined}"
    );

    let status = child.wait().expect("the run ends");
    assert_eq!(status.code(), Some(1), "the last step fails");
    let end = screen_of(&output);
    let joined = end.join("\n");
    assert!(joined.contains("live failed · 4/4 steps ended"), "{joined}");
    // The board's lines are cut to the width (the summary below it is
    // not: that is where a long error is read whole).
    let board = end
        .iter()
        .position(|l| l.starts_with("live failed"))
        .unwrap_or_default();
    let board_end = end
        .iter()
        .position(|l| l.starts_with("execution failed in "))
        .unwrap_or(end.len());
    for line in &end[board..board_end] {
        assert!(line.chars().count() < 60, "cut to the width: {line:?}");
    }
    assert!(
        joined.contains("✓ items") && joined.contains("3/3 items"),
        "one line, counted: {joined}"
    );
    assert!(
        !end.iter().any(|l| l.contains("running")),
        "no stale line: {joined}"
    );
    let summary = end
        .iter()
        .position(|l| l.starts_with("execution failed in "))
        .unwrap_or_else(|| panic!("a summary: {joined}"));
    assert!(end[summary].contains("3 succeeded, 1 failed"), "{joined}");
    assert!(
        end[summary + 1].contains("✗ last: a very long failure"),
        "{joined}"
    );
    let raw = String::from_utf8_lossy(&output.lock().expect("no panic holding it")).into_owned();
    assert!(raw.contains("\u{1b}[32m"), "colour on a terminal");
}

#[test]
fn no_colour_with_no_color_set() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut child, output) = run_in_a_terminal(dir.path(), &[("NO_COLOR", "1")]);
    child.wait().expect("the run ends");
    let raw = String::from_utf8_lossy(&output.lock().expect("no panic holding it")).into_owned();
    assert!(!raw.contains("\u{1b}[3"), "no colour: {raw:?}");
    assert!(raw.contains("execution failed in "), "{raw:?}");
}
