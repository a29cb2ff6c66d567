// build: -fopenmp
/* OpenMP from a plugin: libgomp keeps each thread's state in initial-exec TLS. */
#include <omp.h>

/* 1² + 2² + ... + n², summed by a team of `threads` threads. */
long omp_sum_squares(long n, int threads) {
    long s = 0;
#pragma omp parallel for reduction(+ : s) num_threads(threads)
    for (long i = 1; i <= n; i++)
        s += i * i;
    return s;
}

/* How many threads the last team had, counted by the team itself. */
int omp_team_size(int threads) {
    int seen = 0;
#pragma omp parallel num_threads(threads)
    {
#pragma omp atomic
        seen += 1;
    }
    return seen;
}
