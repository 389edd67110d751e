//! Tables as the CLI prints them: a header, columns as wide as their
//! widest cell, the last one free text cut to the terminal.

/// The least room a table's last column (free text) is cut to, however
/// narrow the terminal.
const MIN_ROOM: usize = 20;

/// Standard output's width when it is a terminal; `None` on a pipe, where
/// nothing is cut (a script reads every character).
pub(crate) fn terminal_width() -> Option<usize> {
    console::Term::stdout()
        .size_checked()
        .map(|(_, columns)| usize::from(columns))
}

/// Rows under a header, each column as wide as its widest cell, two
/// spaces apart, as `executions list` prints them. The last column is free
/// text: cut to what is left of `width` (one column spare: writing the
/// last one makes some terminals wrap), `…` where it was cut.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>], width: Option<usize>) -> String {
    let Some(last) = header.len().checked_sub(1) else {
        return String::new();
    };
    let widths: Vec<usize> = header[..last]
        .iter()
        .enumerate()
        .map(|(column, title)| {
            rows.iter()
                .filter_map(|row| row.get(column))
                .map(|cell| cell.chars().count())
                .chain([title.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let used: usize = widths.iter().map(|wide| wide + 2).sum();
    let room = width.map(|width| width.saturating_sub(used + 1).max(MIN_ROOM));
    let header: Vec<String> = header.iter().map(|title| (*title).to_owned()).collect();
    let mut out = String::new();
    for cells in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (column, cell) in cells.iter().enumerate() {
            if let Some(wide) = widths.get(column) {
                line.push_str(cell);
                line.push_str(&" ".repeat(wide.saturating_sub(cell.chars().count()) + 2));
            } else if let Some(room) = room {
                line.push_str(&console::truncate_str(cell, room, "…"));
            } else {
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
