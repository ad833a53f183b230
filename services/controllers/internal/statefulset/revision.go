package statefulset

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
)

// revisionName is the name of the revision of set's current spec.template:
// "<set>-<hash>", the value of its pods' controller-revision-hash label.
// The hash covers the template and status.collisionCount, as Kubernetes'
// ControllerRevision names do.
func revisionName(set *appsv1.StatefulSet) (string, error) {
	var collisions int32
	if set.Status.CollisionCount != nil {
		collisions = *set.Status.CollisionCount
	}
	h, err := templateHash(&set.Spec.Template, collisions)
	if err != nil {
		return "", fmt.Errorf("revision of statefulset %s/%s: %w", set.Namespace, set.Name, err)
	}
	return set.Name + "-" + h, nil
}

// templateHash is the short, DNS-safe hash of a pod template.
func templateHash(tmpl *corev1.PodTemplateSpec, collisions int32) (string, error) {
	// encoding/json writes struct fields in declaration order and map keys
	// sorted, so equal templates encode alike.
	data, err := json.Marshal(tmpl)
	if err != nil {
		return "", err
	}
	h := fnv.New32a()
	h.Write(data)
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(collisions))
	h.Write(b[:])
	return rand.SafeEncodeString(strconv.FormatUint(uint64(h.Sum32()), 10)), nil
}

// templates remembers the pod templates of the revisions of each set (by
// UID), so that pods below a partition can be re-created from the current
// revision's template while spec.template already holds the update
// revision's. They stand in for the ControllerRevisions Gantry does not
// store.
type templates struct {
	mu sync.Mutex
	m  map[types.UID]map[string]*corev1.PodTemplateSpec
}

func newTemplates() *templates {
	return &templates{m: map[types.UID]map[string]*corev1.PodTemplateSpec{}}
}

// remember records set's current template under its revision name.
func (t *templates) remember(set *appsv1.StatefulSet) (string, error) {
	rev, err := revisionName(set)
	if err != nil {
		return "", err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	revs := t.m[set.UID]
	if revs == nil {
		revs = map[string]*corev1.PodTemplateSpec{}
		t.m[set.UID] = revs
	}
	if _, ok := revs[rev]; !ok {
		revs[rev] = set.Spec.Template.DeepCopy()
	}
	return rev, nil
}

// get returns the template of revision rev of the set with uid.
func (t *templates) get(uid types.UID, rev string) (*corev1.PodTemplateSpec, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	tmpl, ok := t.m[uid][rev]
	return tmpl, ok
}

// keep forgets every template of the set with uid but those of revs.
func (t *templates) keep(uid types.UID, revs ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for rev := range t.m[uid] {
		live := false
		for _, r := range revs {
			live = live || r == rev
		}
		if !live {
			delete(t.m[uid], rev)
		}
	}
}

// forget drops everything about the set with uid.
func (t *templates) forget(uid types.UID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, uid)
}
