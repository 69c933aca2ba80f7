/* rusage_exec OUT PROG ARGS...: run PROG, write "<ru_maxrss KiB>\n" of it
 * to OUT and exit with its status (128+N if killed by signal N).
 *
 * run.py uses this instead of spawning from Python because ru_maxrss
 * survives execve: a child forked or vforked from the ~17 MiB Python
 * interpreter would report at least Python's RSS.  This process is small,
 * so its children start from a ~1 MiB baseline. */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: rusage_exec OUT PROG [ARGS...]\n");
        return 127;
    }
    pid_t pid = fork();
    if (pid < 0)
        return 127;
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        perror(argv[2]);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0)
        return 127;
    FILE *out = fopen(argv[1], "w");
    if (!out || fprintf(out, "%ld\n", ru.ru_maxrss) < 0 || fclose(out))
        return 127;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
