/* two_threads: two pthreads each sum N terms (default 5e7); main joins
 * them and prints the total. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static long n = 50000000;

static void *sum(void *arg)
{
    unsigned long s = 0, salt = (unsigned long)arg;
    for (long i = 0; i < n; i++)
        s += (unsigned long)i ^ salt;
    return (void *)s;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        n = atol(argv[1]);
    pthread_t t[2];
    void *r[2];
    for (long i = 0; i < 2; i++)
        if (pthread_create(&t[i], NULL, sum, (void *)i))
            return 1;
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], &r[i]);
    printf("%lu\n", (unsigned long)r[0] + (unsigned long)r[1]);
    return 0;
}
