//! The terminal the live view draws on: its size (read once: a resize
//! shows at the next run) and whether colour is wanted (a terminal, and
//! no `NO_COLOR`).

/// A colour or weight, as an SGR code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Paint {
    Bold,
    Dim,
    Red,
    Green,
    Yellow,
    Blue,
    Magenta,
}

impl Paint {
    fn code(self) -> &'static str {
        match self {
            Self::Bold => "1",
            Self::Dim => "2",
            Self::Red => "31",
            Self::Green => "32",
            Self::Yellow => "33",
            Self::Blue => "34",
            Self::Magenta => "35",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Term {
    /// Columns and rows.
    pub(crate) width: usize,
    pub(crate) rows: usize,
    pub(crate) color: bool,
}

impl Term {
    /// Standard error's terminal, or 80x24 when its size cannot be read.
    pub(crate) fn stderr() -> Self {
        let (rows, width) = console::Term::stderr()
            .size_checked()
            .map_or((24, 80), |(rows, cols)| {
                (usize::from(rows), usize::from(cols))
            });
        Self {
            width: if width == 0 { 80 } else { width },
            rows: if rows == 0 { 24 } else { rows },
            color: !crate::load::no_color(),
        }
    }

    /// `text` in `paint`, when colour is wanted.
    pub(crate) fn paint(&self, paint: Paint, text: &str) -> String {
        if self.color {
            format!("\x1b[{}m{text}\x1b[0m", paint.code())
        } else {
            text.to_owned()
        }
    }

    /// `line` cut to the terminal's width (one column spare: writing the
    /// last column makes some terminals wrap), `…` where it was cut.
    pub(crate) fn fit(&self, line: &str) -> String {
        let width = self.width.saturating_sub(1).max(10);
        console::truncate_str(line, width, "…").into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_cut_to_the_width_colour_included() {
        let term = Term {
            width: 21,
            rows: 10,
            color: true,
        };
        let line = format!("{} a long line of text", term.paint(Paint::Red, "✗"));
        let fitted = term.fit(&line);
        assert_eq!(console::measure_text_width(&fitted), 20, "{fitted:?}");
        assert!(fitted.ends_with('…'), "{fitted:?}");
        let plain = Term {
            color: false,
            ..term
        };
        assert_eq!(plain.paint(Paint::Red, "x"), "x");
    }
}
