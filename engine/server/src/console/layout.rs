//! A layered layout of a DAG, left to right, for the execution page.
//!
//! Small on purpose (Sugiyama's first two stages, no crossing
//! minimisation beyond one sweep): a step's column is its longest path
//! from a root, so every edge points right; within a column, steps are
//! ordered by the mean position of their parents (the barycentre), ties
//! kept in file order, so the same workflow is always drawn the same way.
//! Columns are centred on the tallest one. Boxes never overlap: a column
//! is one box wide and its boxes are a row apart. Edges are cubic curves
//! from a box's right side to the next one's left side; one that skips
//! columns may cross a box, which a first slice accepts.

/// Size of a box and the gaps between them, in SVG user units.
pub(crate) const BOX_WIDTH: usize = 200;
pub(crate) const BOX_HEIGHT: usize = 48;
const COLUMN_GAP: usize = 56;
const ROW_GAP: usize = 16;
/// Room around the drawing.
const MARGIN: usize = 8;

/// Where one node goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Placed {
    /// Its column: the longest path from a root.
    pub(crate) layer: usize,
    /// Its place in the column, from the top.
    pub(crate) order: usize,
    /// Top-left corner of its box.
    pub(crate) x: usize,
    pub(crate) y: usize,
}

/// Every node placed (in the order given) and the drawing's size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) nodes: Vec<Placed>,
    pub(crate) width: usize,
    pub(crate) height: usize,
}

/// Lays out `count` nodes (given in file order) joined by `edges`
/// (from a dependency to its dependant, by index). Edges out of range are
/// ignored; a cycle (a plan has none) leaves its nodes in whatever column
/// their other parents give them rather than failing.
pub(crate) fn layout(count: usize, edges: &[(usize, usize)]) -> Layout {
    let mut parents: Vec<Vec<usize>> = vec![Vec::new(); count];
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); count];
    for &(from, to) in edges {
        if from < count && to < count && from != to {
            parents[to].push(from);
            children[from].push(to);
        }
    }
    let layer = layers(&parents, &children);
    let depth = layer.iter().max().map_or(0, |deepest| deepest + 1);
    let mut columns: Vec<Vec<usize>> = vec![Vec::new(); depth];
    for (node, &l) in layer.iter().enumerate() {
        columns[l].push(node);
    }
    let tallest = columns.iter().map(Vec::len).max().unwrap_or(0);
    // A node's vertical position in half rows, centring included: integer
    // arithmetic keeps the order exact and the same on every machine.
    let mut half_rows = vec![0usize; count];
    let mut order = vec![0usize; count];
    for column in &mut columns {
        // Parents sit in earlier columns, already placed. The first column
        // has none: it keeps file order.
        let key = |node: usize| -> (usize, usize) {
            let sum: usize = parents[node].iter().map(|&p| half_rows[p]).sum();
            (sum, parents[node].len())
        };
        column.sort_by(|&a, &b| {
            let (sum_a, n_a) = key(a);
            let (sum_b, n_b) = key(b);
            // sum_a / n_a against sum_b / n_b, without division.
            (sum_a * n_b.max(1))
                .cmp(&(sum_b * n_a.max(1)))
                .then(a.cmp(&b))
        });
        let offset = tallest - column.len();
        for (place, &node) in column.iter().enumerate() {
            order[node] = place;
            half_rows[node] = 2 * place + offset;
        }
    }
    let row = BOX_HEIGHT + ROW_GAP;
    let nodes = (0..count)
        .map(|node| Placed {
            layer: layer[node],
            order: order[node],
            x: MARGIN + layer[node] * (BOX_WIDTH + COLUMN_GAP),
            y: MARGIN + half_rows[node] * row / 2,
        })
        .collect();
    Layout {
        nodes,
        width: 2 * MARGIN + depth * BOX_WIDTH + depth.saturating_sub(1) * COLUMN_GAP,
        height: 2 * MARGIN + tallest * BOX_HEIGHT + tallest.saturating_sub(1) * ROW_GAP,
    }
}

/// Each node's longest path from a root (Kahn's order, so each node is
/// settled after all its parents).
fn layers(parents: &[Vec<usize>], children: &[Vec<usize>]) -> Vec<usize> {
    let count = parents.len();
    let mut waiting: Vec<usize> = parents.iter().map(Vec::len).collect();
    let mut layer = vec![0usize; count];
    let mut ready: Vec<usize> = (0..count).filter(|&n| waiting[n] == 0).collect();
    while let Some(node) = ready.pop() {
        for &child in &children[node] {
            layer[child] = layer[child].max(layer[node] + 1);
            waiting[child] -= 1;
            if waiting[child] == 0 {
                ready.push(child);
            }
        }
    }
    layer
}

/// The SVG path of an edge from `from`'s right side to `to`'s left side.
pub(crate) fn edge_path(from: &Placed, to: &Placed) -> String {
    let (x1, y1) = (from.x + BOX_WIDTH, from.y + BOX_HEIGHT / 2);
    let (x2, y2) = (to.x, to.y + BOX_HEIGHT / 2);
    // Control points half way across, level with each end: a flat S.
    let bend = x2.saturating_sub(x1) / 2;
    format!(
        "M{x1} {y1} C{} {y1}, {} {y2}, {x2} {y2}",
        x1 + bend,
        x2.saturating_sub(bend)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overlap(a: &Placed, b: &Placed) -> bool {
        a.x < b.x + BOX_WIDTH
            && b.x < a.x + BOX_WIDTH
            && a.y < b.y + BOX_HEIGHT
            && b.y < a.y + BOX_HEIGHT
    }

    fn chain(count: usize) -> Vec<(usize, usize)> {
        (1..count).map(|n| (n - 1, n)).collect()
    }

    #[test]
    fn a_diamond_has_three_columns_and_its_join_is_centred() {
        // a -> b, a -> c, b -> d, c -> d
        let drawn = layout(4, &[(0, 1), (0, 2), (1, 3), (2, 3)]);
        let [a, b, c, d] = [
            drawn.nodes[0],
            drawn.nodes[1],
            drawn.nodes[2],
            drawn.nodes[3],
        ];
        assert_eq!([a.layer, b.layer, c.layer, d.layer], [0, 1, 1, 2]);
        assert_eq!((b.order, c.order), (0, 1), "file order among equals");
        assert!(b.y < a.y && a.y < c.y, "{drawn:?}");
        assert_eq!(a.y, d.y, "the join sits between its parents");
        assert_eq!(b.x, c.x);
        assert!(a.x < b.x && b.x < d.x);
        assert_eq!(drawn.width, 2 * MARGIN + 3 * BOX_WIDTH + 2 * COLUMN_GAP);
        assert_eq!(drawn.height, 2 * MARGIN + 2 * BOX_HEIGHT + ROW_GAP);
    }

    #[test]
    fn a_chain_is_one_row() {
        let drawn = layout(5, &chain(5));
        for (n, node) in drawn.nodes.iter().enumerate() {
            assert_eq!(node.layer, n);
            assert_eq!(node.y, drawn.nodes[0].y);
        }
        assert_eq!(drawn.height, 2 * MARGIN + BOX_HEIGHT);
    }

    #[test]
    fn a_step_waits_for_its_longest_path() {
        // a -> c directly and through b: c is after b, not beside it.
        let drawn = layout(3, &[(0, 2), (0, 1), (1, 2)]);
        assert_eq!(drawn.nodes[2].layer, 2);
    }

    #[test]
    fn five_hundred_steps_in_a_chain_never_overlap() {
        let drawn = layout(500, &chain(500));
        assert_eq!(drawn.nodes.last().map(|n| n.layer), Some(499));
        for (i, a) in drawn.nodes.iter().enumerate() {
            assert!(a.x + BOX_WIDTH <= drawn.width && a.y + BOX_HEIGHT <= drawn.height);
            for b in &drawn.nodes[i + 1..] {
                assert!(!overlap(a, b), "{a:?} overlaps {b:?}");
            }
        }
    }

    #[test]
    fn wide_graphs_never_overlap_either() {
        // One root, 40 children, each with two grandchildren.
        let mut edges: Vec<(usize, usize)> = (1..=40).map(|c| (0, c)).collect();
        for c in 1..=40 {
            edges.push((c, 40 + 2 * c - 1));
            edges.push((c, 40 + 2 * c));
        }
        let drawn = layout(121, &edges);
        for (i, a) in drawn.nodes.iter().enumerate() {
            for b in &drawn.nodes[i + 1..] {
                assert!(!overlap(a, b), "{a:?} overlaps {b:?}");
            }
        }
    }

    #[test]
    fn children_follow_their_parents_and_the_order_is_stable() {
        // Roots p (0) and q (1); x (2) needs q, y (3) needs p: y goes above
        // x, whatever the file order, because its parent is above.
        let edges = [(1, 2), (0, 3)];
        let drawn = layout(4, &edges);
        assert!(drawn.nodes[3].y < drawn.nodes[2].y, "{drawn:?}");
        assert_eq!((drawn.nodes[3].order, drawn.nodes[2].order), (0, 1));
        // The same input, the same drawing, every time.
        for _ in 0..10 {
            assert_eq!(layout(4, &edges), drawn);
        }
        // Ties keep file order.
        let ties = layout(4, &[(0, 1), (0, 2), (0, 3)]);
        let orders: Vec<usize> = ties.nodes.iter().map(|n| n.order).collect();
        assert_eq!(orders, [0, 0, 1, 2]);
    }

    #[test]
    fn edges_and_nonsense_are_handled() {
        let drawn = layout(2, &[(0, 1), (0, 7), (1, 1)]);
        assert_eq!(drawn.nodes[1].layer, 1);
        let path = edge_path(&drawn.nodes[0], &drawn.nodes[1]);
        assert!(
            path.starts_with(&format!("M{} ", MARGIN + BOX_WIDTH)),
            "{path}"
        );
        assert!(layout(0, &[]).nodes.is_empty());
    }
}
