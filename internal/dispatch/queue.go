package dispatch

import "sync"

// item names one recipient of one activation.
type item struct{ activation, official string }

// queue hands items to workers, first contacts before anything else, in
// the order they were added otherwise; never the same item to two workers
// at once. An item added while a worker holds it is handed out again once
// that worker is done.
type queue struct {
	mu      sync.Mutex
	cond    *sync.Cond
	first   []item // never contacted yet: served first
	later   []item // retries, later rungs, follow-ups
	queued  map[item]bool
	busy    map[item]bool
	again   map[item]bool
	stopped bool
}

func newQueue() *queue {
	q := &queue{queued: map[item]bool{}, busy: map[item]bool{}, again: map[item]bool{}}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// add queues it; first marks a first contact.
func (q *queue) add(it item, first bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.busy[it]:
		q.again[it] = true
	case !q.queued[it]:
		q.queued[it] = true
		if first {
			q.first = append(q.first, it)
		} else {
			q.later = append(q.later, it)
		}
		q.cond.Signal()
	}
}

// take blocks for the next item; ok is false once the queue is stopped.
func (q *queue) take() (it item, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.first) == 0 && len(q.later) == 0 && !q.stopped {
		q.cond.Wait()
	}
	if q.stopped {
		return item{}, false
	}
	if len(q.first) > 0 {
		it, q.first = pop(q.first)
	} else {
		it, q.later = pop(q.later)
	}
	delete(q.queued, it)
	q.busy[it] = true
	return it, true
}

func pop(s []item) (item, []item) {
	it := s[0]
	s[0] = item{}
	return it, s[1:]
}

func (q *queue) done(it item) {
	q.mu.Lock()
	delete(q.busy, it)
	again := q.again[it]
	delete(q.again, it)
	q.mu.Unlock()
	if again {
		q.add(it, false)
	}
}

// idle reports whether nothing waits and no worker holds an item.
func (q *queue) idle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.first) == 0 && len(q.later) == 0 && len(q.busy) == 0
}

func (q *queue) stop() {
	q.mu.Lock()
	q.stopped = true
	q.mu.Unlock()
	q.cond.Broadcast()
}
