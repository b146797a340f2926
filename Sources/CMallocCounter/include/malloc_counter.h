#ifndef MALLOC_COUNTER_H
#define MALLOC_COUNTER_H
/// Number of heap allocations made by this process so far (malloc, calloc, realloc and the
/// aligned allocators). Linked only into the benchmark executable, where it replaces the C
/// library's allocator entry points and forwards to them.
long mm_allocation_count(void);
#endif
