// Accessors for libedit's readline-compat globals: Swift 6 rejects imported mutable C globals.
#include <stdio.h>
#include <editline/readline.h>

static inline void ce_set_completer(rl_completion_func_t *f) { rl_attempted_completion_function = f; }
static inline void ce_set_completion_over(int v) { rl_attempted_completion_over = v; }
static inline void ce_set_readline_name(const char *n) { rl_readline_name = n; }
static inline const char *ce_line_buffer(void) { return rl_line_buffer; }
static inline int ce_point(void) { return rl_point; }
static inline void ce_set_getc(int (*f)(FILE *)) { rl_getc_function = f; }
static inline void ce_set_word_breaks(const char *s) { rl_basic_word_break_characters = (char *)s; rl_completer_word_break_characters = (char *)s; }
static inline void ce_set_instream(FILE *in) { rl_instream = in; }
