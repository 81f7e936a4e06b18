/* buoy import's nginx reader (src/import/nginx.c) on arbitrary text; invariants in fuzz_import.h. */
#include "fuzz_import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_import(imp_nginx, data, size);
}
