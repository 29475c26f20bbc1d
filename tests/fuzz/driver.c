/* driver.c — run a fuzz target over files without libFuzzer (gcc builds, make test):
 *   fuzz_x FILE...   feeds each file once; prints one TAP line per file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    int n = 0;
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            printf("not ok %d - %s: cannot open\n", ++n, argv[i]);
            continue;
        }
        static uint8_t buf[1 << 20];
        size_t len = fread(buf, 1, sizeof buf, f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, len); /* a failed invariant aborts the process */
        printf("ok %d - %s\n", ++n, argv[i]);
    }
    printf("1..%d\n", n);
    return 0;
}
