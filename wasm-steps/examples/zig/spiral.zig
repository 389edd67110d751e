//! spiral, in Zig (wasm32-wasi): the same step as examples/c/spiral.c, on
//! the same WASI-command contract (see ../../README.md).
//!
//! Input  {"tree": T}, T = null or {"value": number|string, "left": T,
//!        "right": T} (children optional).
//! Output {"order": [...]}: level order, odd levels (the root's is 1)
//!        right-to-left, even levels left-to-right, so 1(2(4,5),3(6,7))
//!        gives [1, 2, 3, 7, 6, 5, 4].
//!
//! It matches the C module byte for byte on valid input: numbers keep their
//! source text (1.50 stays 1.50), strings are escaped the same way, members
//! are looked up first-match, and errors are found in the same order with
//! the same messages. Only JSON syntax errors are worded differently, since
//! std.json.Scanner reports just "syntax error" and where.
//!
//! Nothing here recurses: the Scanner is a state machine whose nesting
//! lives on the heap, the document is built with an explicit stack, and
//! the traversal holds one level at a time.
const std = @import("std");

const exit_fatal: u8 = 1;
// 75 (EX_TEMPFAIL) would ask the engine to retry; spiral has no transient
// failures.

/// Larger inputs are refused (as in step.h: 64 MiB or more).
const max_input: usize = 64 << 20;
/// Bounds the tree's nesting, as MAX_TREE_DEPTH in C; the parameters object
/// adds one level.
const max_tree_depth: usize = 100000;
const max_depth: usize = max_tree_depth + 1;

const gpa = std.heap.wasm_allocator;

/// Writes the message as the last stderr line and exits. Like step_fail in
/// C: newlines become spaces and a line is cut at 2,047 bytes.
fn fail(comptime fmt: []const u8, args: anytype) noreturn {
    var buf: [2048]u8 = undefined;
    const line = std.fmt.bufPrint(&buf, fmt, args) catch blk: {
        @memcpy(buf[2044..2047], "...");
        break :blk buf[0..2047];
    };
    for (line) |*c| {
        if (c.* == '\n' or c.* == '\r') c.* = ' ';
    }
    const stderr = std.io.getStdErr();
    stderr.writeAll(line) catch {};
    stderr.writeAll("\n") catch {};
    std.process.exit(exit_fatal);
}

fn outOfMemory() noreturn {
    fail("out of memory", .{});
}

const Kind = enum {
    null,
    boolean,
    number,
    string,
    array,
    object,

    fn name(k: Kind) []const u8 {
        return @tagName(k);
    }
};

/// One parsed JSON value. Object members keep their order and duplicates,
/// so lookups return the first match as the C reader does.
const Value = struct {
    kind: Kind,
    /// number: source text; string: decoded UTF-8
    text: []const u8 = "",
    /// object member names, parallel to `items`
    keys: std.ArrayListUnmanaged([]const u8) = .{},
    /// array elements or object member values
    items: std.ArrayListUnmanaged(*Value) = .{},

    fn get(v: *const Value, key: []const u8) ?*Value {
        for (v.keys.items, 0..) |k, i| {
            if (std.mem.eql(u8, k, key)) return v.items.items[i];
        }
        return null;
    }

    /// The first member name that is not in `allowed`.
    fn unknownMember(v: *const Value, allowed: []const []const u8) ?[]const u8 {
        next: for (v.keys.items) |k| {
            for (allowed) |a| {
                if (std.mem.eql(u8, k, a)) continue :next;
            }
            return k;
        }
        return null;
    }
};

/// "line L, column C" (1-based, columns in bytes) for a byte offset, the
/// form the C reader uses.
const Position = struct {
    line: usize,
    column: usize,

    fn of(input: []const u8, offset: usize) Position {
        var p = Position{ .line = 1, .column = 1 };
        for (input[0..@min(offset, input.len)]) |c| {
            if (c == '\n') {
                p.line += 1;
                p.column = 1;
            } else p.column += 1;
        }
        return p;
    }
};

fn invalid(input: []const u8, offset: usize, comptime what: []const u8, args: anytype) noreturn {
    const p = Position.of(input, offset);
    fail("parameters are not valid JSON: line {d}, column {d}: " ++ what, .{ p.line, p.column } ++ args);
}

fn newValue(kind: Kind, text: []const u8) *Value {
    const v = gpa.create(Value) catch outOfMemory();
    v.* = .{ .kind = kind, .text = text };
    return v;
}

/// std.json.Scanner says only "SyntaxError"; name the byte it stopped at.
fn syntaxError(input: []const u8, at: usize) noreturn {
    if (at >= input.len) invalid(input, at, "syntax error at the end of the input", .{});
    const c = input[at];
    if (c > 0x20 and c < 0x7f) invalid(input, at, "syntax error at '{c}'", .{c});
    invalid(input, at, "syntax error at byte 0x{x:0>2}", .{c});
}

/// Reads one JSON value iteratively: `stack` holds the open containers.
fn parse(input: []const u8) *Value {
    var scanner = std.json.Scanner.initCompleteInput(gpa, input);
    var diag = std.json.Diagnostics{};
    scanner.enableDiagnostics(&diag);
    var stack = std.ArrayListUnmanaged(*Value){};
    while (true) {
        // No per-value cap beyond the input's own: a long string is fine.
        const token = scanner.nextAllocMax(gpa, .alloc_always, input.len) catch |err| {
            const at: usize = @intCast(diag.getByteOffset());
            switch (err) {
                error.OutOfMemory => outOfMemory(),
                error.UnexpectedEndOfInput => if (stack.items.len == 0 and std.mem.trim(u8, input, " \t\r\n").len == 0)
                    invalid(input, at, "no JSON value in the input", .{})
                else
                    invalid(input, at, "unexpected end of input", .{}),
                error.SyntaxError => syntaxError(input, at),
                error.ValueTooLong => invalid(input, at, "value too long", .{}),
            }
        };
        const at: usize = @intCast(diag.getByteOffset());
        const top: ?*Value = if (stack.items.len > 0) stack.items[stack.items.len - 1] else null;
        const v: *Value = switch (token) {
            .object_begin, .array_begin => {
                if (stack.items.len >= max_depth)
                    invalid(input, at - 1, "nesting deeper than {d} levels", .{max_depth});
                const kind: Kind = if (token == .object_begin) .object else .array;
                stack.append(gpa, newValue(kind, "")) catch outOfMemory();
                continue;
            },
            .object_end, .array_end => stack.pop().?,
            .allocated_string => |s| blk: {
                if (top) |t| {
                    if (t.kind == .object and t.keys.items.len == t.items.items.len) {
                        t.keys.append(gpa, s) catch outOfMemory(); // a member name
                        continue;
                    }
                }
                break :blk newValue(.string, s);
            },
            .allocated_number => |s| blk: {
                const d = std.fmt.parseFloat(f64, s) catch unreachable; // the Scanner checked the syntax
                if (std.math.isInf(d)) invalid(input, at - s.len, "number out of range", .{});
                break :blk newValue(.number, s);
            },
            .true, .false => newValue(.boolean, if (token == .true) "true" else "false"),
            .null => newValue(.null, ""),
            // .alloc_always never returns the others; the Scanner reports
            // the end of the document only after the root value.
            else => unreachable,
        };
        if (stack.items.len == 0) {
            // initCompleteInput: anything after the root value is a
            // SyntaxError from this call.
            const end = scanner.next() catch |err| switch (err) {
                error.SyntaxError, error.UnexpectedEndOfInput => invalid(input, @intCast(diag.getByteOffset()), "unexpected data after the JSON value", .{}),
                error.OutOfMemory => outOfMemory(),
                error.BufferUnderrun => unreachable,
            };
            std.debug.assert(end == .end_of_document);
            return v;
        }
        const t = stack.items[stack.items.len - 1];
        t.items.append(gpa, v) catch outOfMemory();
    }
}

/// Appends `s` as a JSON string exactly as jb_string in C does: only the
/// required escapes, other control characters as \u00XX, and all other text
/// (valid UTF-8: the Scanner checked it) unchanged.
fn appendString(out: *std.ArrayListUnmanaged(u8), s: []const u8) void {
    appendStringOrFail(out, s) catch outOfMemory();
}

fn appendStringOrFail(out: *std.ArrayListUnmanaged(u8), s: []const u8) !void {
    try out.append(gpa, '"');
    for (s) |c| {
        switch (c) {
            '"' => try out.appendSlice(gpa, "\\\""),
            '\\' => try out.appendSlice(gpa, "\\\\"),
            '\n' => try out.appendSlice(gpa, "\\n"),
            '\r' => try out.appendSlice(gpa, "\\r"),
            '\t' => try out.appendSlice(gpa, "\\t"),
            0x08 => try out.appendSlice(gpa, "\\b"),
            0x0C => try out.appendSlice(gpa, "\\f"),
            0...0x07, 0x0B, 0x0E...0x1F => {
                var tmp: [6]u8 = undefined;
                try out.appendSlice(gpa, std.fmt.bufPrint(&tmp, "\\u{x:0>4}", .{c}) catch unreachable);
            },
            else => try out.append(gpa, c),
        }
    }
    try out.append(gpa, '"');
}

/// `s` quoted as JSON, for messages that name user data.
fn quote(s: []const u8) []const u8 {
    var out = std.ArrayListUnmanaged(u8){};
    appendString(&out, s);
    return out.items;
}

/// Checks one tree node and returns its value; `depth` and `pos` (1-based,
/// left to right) locate it in messages.
fn checkedValue(node: *const Value, depth: usize, pos: usize) *const Value {
    if (node.unknownMember(&.{ "value", "left", "right" })) |bad|
        fail("tree node at level {d}, position {d}: unknown member {s}", .{ depth, pos, quote(bad) });
    const v = node.get("value") orelse
        fail("tree node at level {d}, position {d}: missing \"value\"", .{ depth, pos });
    if (v.kind != .number and v.kind != .string)
        fail("tree node at level {d}, position {d}: \"value\" must be a number or a string, got {s}", .{ depth, pos, v.kind.name() });
    return v;
}

/// Adds `node`'s child `side` to `next` unless it is absent or null.
fn gather(next: *std.ArrayListUnmanaged(*const Value), node: *const Value, comptime side: []const u8, depth: usize, pos: usize) void {
    const child = node.get(side) orelse return;
    if (child.kind == .null) return;
    if (child.kind != .object)
        fail("tree node at level {d}, position {d}: \"" ++ side ++ "\" must be an object or null, got {s}", .{ depth, pos, child.kind.name() });
    next.append(gpa, child) catch outOfMemory();
}

pub fn main() void {
    const input = std.io.getStdIn().readToEndAlloc(gpa, max_input - 1) catch |err| switch (err) {
        error.FileTooBig => fail("parameters larger than {d} bytes", .{max_input}),
        error.OutOfMemory => fail("out of memory reading the parameters", .{}),
        else => fail("cannot read stdin: {s}", .{@errorName(err)}),
    };
    const params = parse(input);
    if (params.kind != .object)
        fail("parameters must be a JSON object, got {s}", .{params.kind.name()});
    if (params.unknownMember(&.{"tree"})) |bad|
        fail("unknown parameter {s}", .{quote(bad)});
    const tree = params.get("tree") orelse fail("missing parameter \"tree\"", .{});
    if (tree.kind != .null and tree.kind != .object)
        fail("\"tree\" must be an object or null, got {s}", .{tree.kind.name()});

    var cur = std.ArrayListUnmanaged(*const Value){};
    var next = std.ArrayListUnmanaged(*const Value){};
    if (tree.kind == .object) cur.append(gpa, tree) catch outOfMemory();

    var out = std.ArrayListUnmanaged(u8){};
    out.appendSlice(gpa, "{\"order\":[") catch outOfMemory();
    var first = true;
    var depth: usize = 1;
    while (cur.items.len > 0) : (depth += 1) {
        const left_to_right = depth % 2 == 0;
        const n = cur.items.len;
        for (0..n) |k| {
            const i = if (left_to_right) k else n - 1 - k;
            const v = checkedValue(cur.items[i], depth, i + 1);
            if (!first) out.append(gpa, ',') catch outOfMemory();
            first = false;
            if (v.kind == .number)
                out.appendSlice(gpa, v.text) catch outOfMemory()
            else
                appendString(&out, v.text);
        }
        next.clearRetainingCapacity();
        for (cur.items, 1..) |node, pos| {
            gather(&next, node, "left", depth, pos);
            gather(&next, node, "right", depth, pos);
        }
        std.mem.swap(std.ArrayListUnmanaged(*const Value), &cur, &next);
    }
    out.appendSlice(gpa, "]}\n") catch outOfMemory();
    std.io.getStdOut().writeAll(out.items) catch |err|
        fail("cannot write stdout: {s}", .{@errorName(err)});
}
