/* readline.c — alluse.core.readline: terminal line input for the REPL, over libedit.
 *
 * readline(prompt) -> line | nil (end of input) | nil, "interrupt" (Ctrl-C at the prompt)
 * add_history(line), history() -> {lines}, clear_history(), set_history_size(n)
 * read_history(path), write_history(path) -> true | nil, message, code
 * set_completer(fn | nil): fn(word, before) -> {candidates}, called on TAB, where word is
 *   the text being completed and before is the line up to the cursor
 * catch_interrupts(on): while on, Ctrl-C raises "interrupted" in the running Lua code
 * interactive() -> whether stdin is a terminal (only then is libedit used)
 *
 * libedit's readline API is one editor per process, kept in the library's globals, so
 * this module is process-wide too: `edit` below is its only state.  edit.L is set only
 * while readline() runs, because the completion callback needs a lua_State and libedit
 * hands it no user pointer; edit.stop_L is what the SIGINT handler must reach.  The
 * completer function lives in the Lua registry.  Lines that libedit returns are owned by
 * a userdata box until copied into Lua, so an out-of-memory error cannot leak them; match
 * arrays handed to libedit are libedit's to free.
 */
#include <editline/readline.h>
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <lauxlib.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/host.h"
#include "host/modules.h"

#define BOX_MT "alluse.readline.box"
#define MAX_MATCHES 10000

static struct {
    int ready;                        /* rl_initialize has run and we configured it */
    lua_State *L;                     /* non-NULL only inside readline() */
    volatile sig_atomic_t interrupted; /* Ctrl-C was typed at the prompt */
    lua_State *volatile stop_L;       /* state to stop on SIGINT; NULL when not catching */
    struct sigaction saved_sigint;    /* disposition to restore after catch_interrupts */
} edit;

static const char completer_key = 'c'; /* its address keys the registry slot */

/* Not in the break set: '.' and ':' so `string.fo` and `obj:me` are one word, and
 * '_' which is part of names. */
static char word_breaks[] = " \t\n\"\\'`@$><=;|&{}()[],+-*/%^~#!?";

/* ---- ownership box: a malloc'd string that Lua's GC frees if we never get to ---- */

static int box_gc(lua_State *L)
{
    char **p = luaL_checkudata(L, 1, BOX_MT);
    free(*p);
    *p = NULL;
    return 0;
}

static char **box_new(lua_State *L)
{
    char **p = lua_newuserdata(L, sizeof *p);
    *p = NULL;
    luaL_getmetatable(L, BOX_MT);
    lua_setmetatable(L, -2);
    return p;
}

/* Push the boxed string (at stack top) in its place, then free it. */
static void box_push_string(lua_State *L, char **p)
{
    lua_pushstring(L, *p);
    free(*p);
    *p = NULL;
    lua_remove(L, -2);
}

/* ---- completion ---- */

typedef struct {
    const char *word;
    const char *line;
    size_t line_len;
    char **matches; /* result, NULL-terminated, matches[0] the common prefix */
} complete_job;

static size_t common_prefix(const char *a, const char *b, size_t max)
{
    size_t i = 0;
    while (i < max && a[i] && a[i] == b[i]) i++;
    return i;
}

/* m[0] is still empty while the array is built: free entries 1..count. */
static void free_matches(char **m, size_t count)
{
    for (size_t i = 1; i <= count; i++) free(m[i]);
    free(m);
}

/* Turn the table at idx into libedit's array.  Uses only Lua calls that cannot raise,
 * so a half-built array is never abandoned by a longjmp. */
static char **matches_from_table(lua_State *L, int idx, const char *word)
{
    size_t n = lua_objlen(L, idx), wlen = strlen(word), count = 0, prefix = 0;
    if (n > MAX_MATCHES) n = MAX_MATCHES;
    char **m = calloc(n + 2, sizeof *m);
    if (m == NULL) return NULL;
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, (int)i);
        size_t len;
        const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
        /* libedit replaces the word with the common prefix: a candidate that does not
         * extend the word would delete what the user typed. */
        if (s && len >= wlen && strlen(s) == len && memcmp(s, word, wlen) == 0) {
            char *copy = strdup(s);
            if (copy == NULL) {
                lua_pop(L, 1);
                free_matches(m, count);
                return NULL;
            }
            m[++count] = copy;
            prefix = count == 1 ? len : common_prefix(m[1], copy, prefix);
        }
        lua_pop(L, 1);
    }
    /* "é" and "è" share a first byte: never cut a UTF-8 character in two. */
    while (count > 0 && prefix > 0 && ((unsigned char)m[1][prefix] & 0xC0) == 0x80) prefix--;
    if (count > 0 && (m[0] = strndup(m[1], prefix)) != NULL) return m;
    free_matches(m, count);
    return NULL;
}

/* Runs under lua_cpcall, so any error (even out of memory while pushing) stays in Lua. */
static int complete_protected(lua_State *L)
{
    complete_job *job = lua_touserdata(L, 1);
    lua_pushlightuserdata(L, (void *)&completer_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    if (!lua_isfunction(L, -1)) return 0;
    lua_pushstring(L, job->word);
    lua_pushlstring(L, job->line, job->line_len);
    if (host_call(L, 2, 1) != 0) return lua_error(L);
    if (lua_istable(L, -1)) job->matches = matches_from_table(L, lua_gettop(L), job->word);
    return 0;
}

/* start and end count wide characters; rl_point counts bytes of rl_line_buffer. */
static char **on_complete(const char *text, int start, int end)
{
    (void)start;
    (void)end;
    rl_attempted_completion_over = 1; /* never fall back to completing file names */
    lua_State *L = edit.L;
    if (L == NULL) return NULL;
    complete_job job = {text, rl_line_buffer ? rl_line_buffer : "", 0, NULL};
    job.line_len = rl_line_buffer && rl_point > 0 ? strnlen(rl_line_buffer, (size_t)rl_point) : 0;
    if (lua_cpcall(L, complete_protected, &job) != 0) {
        /* A broken completer must not cost the user the line being typed. */
        const char *msg = lua_tostring(L, -1);
        fprintf(rl_outstream, "\ncompletion failed: %s\n", msg ? msg : "?");
        lua_pop(L, 1);
        rl_forced_update_display();
        return NULL;
    }
    return job.matches;
}

static int l_set_completer(lua_State *L)
{
    if (!lua_isnoneornil(L, 1)) luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_settop(L, 1);
    lua_pushlightuserdata(L, (void *)&completer_key);
    lua_pushvalue(L, 1);
    lua_rawset(L, LUA_REGISTRYINDEX);
    return 0;
}

/* ---- the editor ---- */

/* Bound to Ctrl-C: end this line as if at end of input and remember why. */
static int on_ctrl_c(int count, int key)
{
    (void)count;
    (void)key;
    edit.interrupted = 1;
    rl_done = 1;
    return 0;
}

/* readline() resets libedit's terminal modes and key bindings to their defaults on
 * every call (tty_init), after which it runs this hook: the place to make Ctrl-C a key.
 * With ISIG off while editing it reaches on_ctrl_c instead of signalling the process. */
static int before_input(void)
{
    rl_parse_and_bind("setty -d -isig");
    rl_parse_and_bind("bind ^C alluse-interrupt");
    return 0;
}

static void edit_setup(void)
{
    if (edit.ready) return;
    edit.ready = 1;
    /* libedit decodes keys with mbrtowc: in the "C" locale every UTF-8 byte is dropped.
     * Only LC_CTYPE: LuaJIT formats and parses numbers without the locale. */
    const char *loc = setlocale(LC_CTYPE, "");
    /* No locale configured (typical in a container) still means a UTF-8 terminal. */
    if (loc == NULL || strcmp(nl_langinfo(CODESET), "ANSI_X3.4-1968") == 0)
        setlocale(LC_CTYPE, "C.UTF-8");
    rl_readline_name = "alluse"; /* ~/.editrc lines prefixed "alluse:" apply */
    rl_instream = stdin;
    /* With stdout redirected (alluse repl | tee log) the prompt and echo still belong
     * on the terminal, not in the log. */
    rl_outstream = isatty(STDOUT_FILENO) || !isatty(STDERR_FILENO) ? stdout : stderr;
    rl_initialize();
    using_history();
    rl_basic_word_break_characters = word_breaks;
    rl_completer_word_break_characters = word_breaks;
    rl_attempted_completion_function = on_complete;
    rl_completion_append_character = '\0';
    /* Above this many matches libedit asks "Display all?" and reads the answer with
     * stdio behind the editor's back; the globals alone are ~80. */
    rl_completion_query_items = 1000;
    rl_add_defun("alluse-interrupt", on_ctrl_c, CTRL('C'));
    rl_pre_input_hook = before_input;
}

/* stdin is not a terminal: no editing, no prompt, one line per call. */
static int read_plain(lua_State *L)
{
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    int got = 0, eol = 0;
    while (!eol) {
        char *p = luaL_prepbuffer(&b);
        if (fgets(p, LUAL_BUFFERSIZE, stdin) == NULL) break;
        size_t n = strlen(p);
        got = 1;
        if (n > 0 && p[n - 1] == '\n') {
            n--;
            eol = 1;
        }
        luaL_addsize(&b, n);
    }
    luaL_pushresult(&b);
    if (!got) lua_pushnil(L);
    return 1;
}

static int l_readline(lua_State *L)
{
    const char *prompt = luaL_optstring(L, 1, "> ");
    fflush(stdout); /* results printed with io.write must precede the prompt */
    if (!isatty(STDIN_FILENO)) return read_plain(L);
    edit_setup();
    char **box = box_new(L);
    edit.L = L;
    edit.interrupted = 0;
    *box = readline(prompt);
    edit.L = NULL;
    if (edit.interrupted) {
        free(*box);
        *box = NULL;
        fputs("^C\n", rl_outstream);
        fflush(rl_outstream);
        lua_pushnil(L);
        lua_pushliteral(L, "interrupt");
        return 2;
    }
    if (*box == NULL) {
        lua_pushnil(L);
        return 1;
    }
    box_push_string(L, box);
    return 1;
}

static int l_interactive(lua_State *L)
{
    lua_pushboolean(L, isatty(STDIN_FILENO));
    return 1;
}

/* ---- history ---- */

static int l_add_history(lua_State *L)
{
    const char *line = luaL_checkstring(L, 1);
    edit_setup();
    add_history(line);
    return 0;
}

static int l_history(lua_State *L)
{
    edit_setup();
    lua_createtable(L, history_length, 0);
    for (int i = 0; i < history_length; i++) {
        HIST_ENTRY *h = history_get(history_base + i);
        if (h == NULL || h->line == NULL) continue;
        lua_pushstring(L, h->line);
        lua_rawseti(L, -2, (int)lua_objlen(L, -2) + 1);
    }
    return 1;
}

static int l_clear_history(lua_State *L)
{
    (void)L;
    edit_setup();
    clear_history();
    return 0;
}

static int l_set_history_size(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1);
    luaL_argcheck(L, n >= 0 && n <= 1000000, 1, "must be 0 .. 1000000");
    edit_setup();
    stifle_history((int)n);
    return 0;
}

static int push_errno(lua_State *L, int err, const char *what, const char *path)
{
    lua_pushnil(L);
    lua_pushfstring(L, "%s %s: %s", what, path, strerror(err));
    lua_pushstring(L, err == ENOENT ? "ENOENT" : err == EACCES ? "EACCES" : "EIO");
    return 3;
}

static int l_read_history(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    edit_setup();
    errno = 0;
    int rc = read_history(path);
    if (rc != 0) return push_errno(L, rc > 0 ? rc : (errno ? errno : EIO), "cannot read history", path);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_write_history(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    edit_setup();
    /* History can hold secrets typed at the prompt: a new file is private. */
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return push_errno(L, errno, "cannot write history", path);
    close(fd);
    errno = 0;
    int rc = write_history(path);
    if (rc != 0) return push_errno(L, rc > 0 ? rc : (errno ? errno : EIO), "cannot write history", path);
    lua_pushboolean(L, 1);
    return 1;
}

/* ---- Ctrl-C while Lua code runs ---- */

static void stop_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    luaL_error(L, "interrupted");
}

/* As in the stand-alone interpreter: the hook makes the running code raise at its next
 * instruction; the default action is back for a second Ctrl-C, which ends the process
 * when the code cannot be stopped (a loop the JIT compiled never calls the hook). */
static void on_sigint(int sig)
{
    lua_State *L = edit.stop_L;
    signal(sig, SIG_DFL);
    (void)!write(STDERR_FILENO, "\n", 1); /* the message must not follow the echoed ^C */
    if (L) lua_sethook(L, stop_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

static int l_catch_interrupts(lua_State *L)
{
    int on = lua_toboolean(L, 1);
    if (on && edit.stop_L == NULL) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_sigint;
        sigemptyset(&sa.sa_mask);
        edit.stop_L = L;
        sigaction(SIGINT, &sa, &edit.saved_sigint);
    } else if (!on && edit.stop_L != NULL) {
        sigaction(SIGINT, &edit.saved_sigint, NULL);
        /* A Ctrl-C that came after the code's last instruction must not fire later. */
        if (lua_gethook(L) == stop_hook) lua_sethook(L, NULL, 0, 0);
        edit.stop_L = NULL;
    }
    return 0;
}

int luaopen_alluse_core_readline(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"readline", l_readline},
        {"interactive", l_interactive},
        {"set_completer", l_set_completer},
        {"add_history", l_add_history},
        {"history", l_history},
        {"clear_history", l_clear_history},
        {"set_history_size", l_set_history_size},
        {"read_history", l_read_history},
        {"write_history", l_write_history},
        {"catch_interrupts", l_catch_interrupts},
        {NULL, NULL},
    };
    luaL_newmetatable(L, BOX_MT);
    lua_pushcfunction(L, box_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    lua_createtable(L, 0, 10);
    luaL_register(L, NULL, fns);
    return 1;
}
