package caldavtest

import (
	"sync"
	"sync/atomic"
)

// Parallel calls fn for 0 to n-1 over workers goroutines, as the
// benchmarks' clients write to a server side by side, and returns the
// first error; a worker whose call fails stops.
func Parallel(workers, n int, fn func(k int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1)) - 1
				if k >= n {
					return
				}
				if err := fn(k); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}
