// Package lastuser decides when something replaced while still in use
// may be closed: once it is retired and its last user has let go. A
// reload retires a Runtime that scrapes and API calls may still be
// using, and a Connect client whose requests may still be running; both
// ask a Count.
package lastuser

import "sync"

// Count counts the users of one thing. Its zero value is a thing in use
// by no one and not retired.
type Count struct {
	mu      sync.Mutex
	users   int
	retired bool
	// closed is set when Leave or Retire has answered true: the thing is
	// closed once, whoever comes after.
	closed bool
}

// Enter counts a user in and reports whether the thing is already
// retired. The user is counted either way and must Leave; one that
// finds it retired should leave nothing behind that needs closing (or
// not use it at all).
func (c *Count) Enter() (retired bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.users++
	return c.retired
}

// Leave counts a user out. It reports true, once, when the thing is
// retired and this was its last user: the caller closes it.
func (c *Count) Leave() (closeNow bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.users--
	return c.closeNow()
}

// Retire marks the thing replaced. It reports true, once, when no one
// uses it: the caller closes it now; otherwise its last user will.
func (c *Count) Retire() (closeNow bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.retired = true
	return c.closeNow()
}

func (c *Count) closeNow() bool {
	if !c.retired || c.users > 0 || c.closed {
		return false
	}
	c.closed = true
	return true
}
