/*
 * Tries to reach the network. WASI preview1 has no socket() or connect()
 * (wasi-libc leaves them out; calling them does not even link), so a core
 * module cannot open a connection itself. What it can use are sockets the
 * host hands in as file descriptors, so this probes fds 0..63 and tries
 * sock_accept on every socket it finds. A sandboxed step must find none.
 * It reports on stdout as JSON so a test can assert on what happened.
 */
#include <wasi/api.h>

#include "../step.h"

#define PROBE_FDS 64

static const char *filetype_name(__wasi_filetype_t t) {
    switch (t) {
    case __WASI_FILETYPE_BLOCK_DEVICE: return "block_device";
    case __WASI_FILETYPE_CHARACTER_DEVICE: return "character_device";
    case __WASI_FILETYPE_DIRECTORY: return "directory";
    case __WASI_FILETYPE_REGULAR_FILE: return "regular_file";
    case __WASI_FILETYPE_SOCKET_DGRAM: return "socket_dgram";
    case __WASI_FILETYPE_SOCKET_STREAM: return "socket_stream";
    case __WASI_FILETYPE_SYMBOLIC_LINK: return "symbolic_link";
    default: return "unknown";
    }
}

int main(void) {
    jbuf out = {0};
    int64_t sockets = 0, accepted = 0, listed = 0;
    step_log("socket()/connect(): not in WASI preview1; probing inherited fds");
    jb_cstr(&out, "{\"connect\":\"unavailable in WASI preview1\",\"fds\":[");
    for (__wasi_fd_t fd = 0; fd < PROBE_FDS; fd++) {
        __wasi_fdstat_t st;
        if (__wasi_fd_fdstat_get(fd, &st) != 0) continue;
        if (listed++) jb_raw(&out, ",", 1);
        jb_cstr(&out, "{\"fd\":");
        jb_int(&out, fd);
        jb_cstr(&out, ",\"type\":\"");
        jb_cstr(&out, filetype_name(st.fs_filetype));
        jb_cstr(&out, "\"");
        if (st.fs_filetype == __WASI_FILETYPE_SOCKET_STREAM ||
            st.fs_filetype == __WASI_FILETYPE_SOCKET_DGRAM) {
            __wasi_fd_t conn;
            __wasi_errno_t err = __wasi_sock_accept(fd, __WASI_FDFLAGS_NONBLOCK, &conn);
            sockets++;
            accepted += err == 0;
            step_log("fd %u is a socket; sock_accept -> errno %u", (unsigned)fd, (unsigned)err);
            jb_cstr(&out, ",\"accept_errno\":");
            jb_int(&out, err);
        }
        jb_raw(&out, "}", 1);
    }
    jb_cstr(&out, "],\"sockets\":");
    jb_int(&out, sockets);
    jb_cstr(&out, ",\"accepted\":");
    jb_int(&out, accepted);
    jb_raw(&out, "}", 1);
    step_write(&out);
    jb_free(&out);
    return 0;
}
