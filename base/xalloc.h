/* xalloc.h - allocation that never returns NULL (out of memory is fatal), and fatalx. */
#ifndef ESCALATOR_XALLOC_H
#define ESCALATOR_XALLOC_H

#include <stdarg.h>
#include <stddef.h>

#if defined(__GNUC__)
#define PRINTFLIKE(a, b) __attribute__((format(printf, a, b)))
#define NORETURN __attribute__((noreturn))
#else
#define PRINTFLIKE(a, b)
#define NORETURN
#endif

/* Allocation wrappers: they never return NULL; out of memory is fatal. */
void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xreallocarray(void *ptr, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* xstrdup(s), or NULL when s is NULL. */
char *xstrdup_or_null(const char *s);
char *xasprintf(const char *fmt, ...) PRINTFLIKE(1, 2);
char *xvasprintf(const char *fmt, va_list ap) PRINTFLIKE(1, 0);

/* Wipe the string s (a password, key or token) and free it; NULL is fine. A void * so that it
 * can be handed over as a free function. */
void xfree_secret(void *s);

/* Print a message to stderr and exit(2). For impossible states and OOM only. */
void fatalx(const char *fmt, ...) PRINTFLIKE(1, 2) NORETURN;

#endif
