/* A producer and a consumer thread pass items through a small ring buffer
   guarded by a mutex and two condition variables; the consumer prints a
   checksum and the order it saw "full" and "empty" waits. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>

#define SLOTS 4
#define ITEMS 2000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
static int ring[SLOTS];
static int head, count;
static int producer_waits, consumer_waits;

static void* produce(void* arg) {
  (void)arg;
  for (int i = 1; i <= ITEMS; i++) {
    pthread_mutex_lock(&lock);
    while (count == SLOTS) {
      producer_waits++;
      pthread_cond_wait(&not_full, &lock);
    }
    ring[(head + count) % SLOTS] = i;
    count++;
    pthread_cond_signal(&not_empty);
    pthread_mutex_unlock(&lock);
  }
  return NULL;
}

int main(void) {
  pthread_t producer;
  pthread_create(&producer, NULL, produce, NULL);
  long sum = 0, weighted = 0;
  for (int n = 1; n <= ITEMS; n++) {
    pthread_mutex_lock(&lock);
    while (count == 0) {
      consumer_waits++;
      pthread_cond_wait(&not_empty, &lock);
    }
    int item = ring[head];
    head = (head + 1) % SLOTS;
    count--;
    pthread_cond_signal(&not_full);
    pthread_mutex_unlock(&lock);
    sum += item;
    weighted += (long)item * n;
  }
  pthread_join(producer, NULL);
  printf("sum %ld weighted %ld (expected %ld)\n", sum, weighted, (long)ITEMS * (ITEMS + 1) / 2);
  printf("producer waited %d times, consumer %d times\n", producer_waits, consumer_waits);
  return 0;
}
