package containerd

import (
	"sync"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/opencontainers/go-digest"

	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
)

// imageCache remembers what was learnt about each image name: its
// description (config, size) and whether it is unpacked. Describing an
// image and checking its snapshots take several containerd calls each,
// which a burst of pod starts on a busy containerd pays dearly; a cached
// entry is used only while the image's record still has the same target
// and creation and update times (a deleted and re-created image, or one
// re-tagged, is looked at afresh).
type imageCache struct {
	mu      sync.Mutex
	entries map[string]imageCacheEntry // by image name
}

type imageCacheEntry struct {
	target   digest.Digest
	created  time.Time
	updated  time.Time
	image    runtime.Image
	unpacked bool
}

func (e imageCacheEntry) matches(img containerd.Image) bool {
	m := img.Metadata()
	return e.target == m.Target.Digest && e.created.Equal(m.CreatedAt) && e.updated.Equal(m.UpdatedAt)
}

// get returns what is known of img, if it is still current.
func (c *imageCache) get(img containerd.Image) (imageCacheEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[img.Name()]
	if !ok || !e.matches(img) {
		return imageCacheEntry{}, false
	}
	return e, true
}

// put records img's description, and that it is unpacked if so.
func (c *imageCache) put(img containerd.Image, d runtime.Image, unpacked bool) {
	m := img.Metadata()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]imageCacheEntry{}
	}
	if old, ok := c.entries[img.Name()]; ok && old.matches(img) {
		unpacked = unpacked || old.unpacked
	}
	c.entries[img.Name()] = imageCacheEntry{
		target: m.Target.Digest, created: m.CreatedAt, updated: m.UpdatedAt,
		image: d, unpacked: unpacked,
	}
}

// retain drops what is known of names no longer listed.
func (c *imageCache) retain(names map[string]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for name := range c.entries {
		if !names[name] {
			delete(c.entries, name)
		}
	}
}
