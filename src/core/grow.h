/* Growing an array by doubling, header-only: the one helper every append-only list here uses. */
#ifndef BUOY_GROW_H
#define BUOY_GROW_H
#include <stdbool.h>
#include <stdlib.h>

/* Makes room for need elements of size bytes in *v (capacity *cap, doubled from 64). false
 * when out of memory (*v and *cap unchanged). */
static inline bool grow(void **v, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return true;
	size_t n = *cap ? *cap * 2 : 64;
	while (n < need)
		n *= 2;
	void *p = realloc(*v, n * size);
	if (!p)
		return false;
	*v = p;
	*cap = n;
	return true;
}

#endif
