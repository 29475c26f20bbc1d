/* main.c — create the host and hand argv to lua/alluse/cli.lua. */
#include <stdio.h>

#include "host/host.h"

int main(int argc, char **argv)
{
    char err[512];
    au_host *host = host_new(err, sizeof err);
    if (host == NULL) {
        fprintf(stderr, "alluse: %s\n", err);
        return 1;
    }
    int status = host_run_cli(host, argc, argv);
    fflush(stdout);
    host_free(host);
    return status;
}
