// Package patch applies the body of a PATCH request to a stored object the
// way kube-apiserver does, and keeps metadata.managedFields up to date for
// every write.
//
// It owns:
//
//   - the four patch types Kubernetes serves for built-in resources: JSON
//     patch (RFC 6902, with Kubernetes' limit on operations and on the bytes
//     that "copy" may add), JSON merge patch (RFC 7386), strategic merge
//     patch (with the typed Go struct as patch metadata) and server-side
//     apply (YAML); the CBOR form of apply is refused with 415, as a
//     kube-apiserver without the CBOR feature gate does;
//   - decoding the patched document back into the typed object, with the
//     fieldValidation directive deciding whether unknown and duplicate
//     fields are ignored, returned as warnings or rejected;
//   - field ownership: a structured-merge-diff FieldManager per kind (and
//     subresource), whose TypeConverter is the schema client-go ships for
//     every built-in type (without the validation walk of an update's
//     objects, see converter), records Update entries for create, update
//     and patch, merges applied configurations and reports apply
//     conflicts;
//   - the Kubernetes errors each failure maps to (400, 404, 409, 413, 415,
//     422), so that a handler can write them as they are.
//
// It does not read or write storage, run admission, defaulting beyond what
// the scheme registers, validation or the registry strategies. It never
// changes the current object it is given; every object Patch returns is
// new, and RecordManagedFields sets the managed fields (and the kind) of
// the object being written, which its caller owns.
package patch
