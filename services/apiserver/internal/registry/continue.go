package registry

import (
	"encoding/base64"
	"encoding/json"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// continueToken is the state of a paginated list, as Kubernetes encodes it:
// base64 JSON with the revision of the first page and the key to resume at
// (relative to the list's prefix).
type continueToken struct {
	APIVersion string `json:"v"`
	Rev        int64  `json:"rv"`
	StartKey   string `json:"start"`
}

type decodedContinue struct {
	Rev   int64
	Start string
}

func encodeContinue(rev int64, next, prefix string) string {
	b, _ := json.Marshal(continueToken{APIVersion: "meta.k8s.io/v1", Rev: rev, StartKey: strings.TrimPrefix(next, prefix)})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeContinue(s, prefix string) (decodedContinue, error) {
	bad := apierrors.NewBadRequest("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return decodedContinue{}, bad
	}
	var t continueToken
	if err := json.Unmarshal(b, &t); err != nil || t.APIVersion != "meta.k8s.io/v1" || t.Rev == 0 || t.Rev < -1 {
		return decodedContinue{}, bad
	}
	if t.Rev == -1 {
		t.Rev = 0 // continue at the newest revision
	}
	if strings.Contains(t.StartKey, "..") || strings.HasPrefix(t.StartKey, "/") {
		return decodedContinue{}, bad
	}
	return decodedContinue{Rev: t.Rev, Start: prefix + t.StartKey}, nil
}
