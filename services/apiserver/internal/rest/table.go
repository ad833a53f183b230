package rest

import (
	"bytes"
	"fmt"
	"time"

	"github.com/gantry-dev/gantry/services/apiserver/internal/api"
	"github.com/gantry-dev/gantry/services/apiserver/internal/printers"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// toTable renders objects as the Table kubectl prints. list carries the
// list metadata, if any.
func toTable(res *api.Resource, objs []runtime.Object, list metav1.ListInterface, out output, columns bool) (*metav1.Table, error) {
	t := &metav1.Table{TypeMeta: metav1.TypeMeta{Kind: "Table", APIVersion: "meta.k8s.io/v1"}}
	if columns {
		t.ColumnDefinitions = printers.Columns(res.GVR().GroupResource())
	}
	if list != nil {
		t.ResourceVersion = list.GetResourceVersion()
		t.Continue = list.GetContinue()
		t.RemainingItemCount = list.GetRemainingItemCount()
	}
	now := time.Now()
	t.Rows = make([]metav1.TableRow, 0, len(objs))
	for _, obj := range objs {
		row := metav1.TableRow{Cells: printers.Cells(obj, now)}
		raw, err := rowObject(obj, out)
		if err != nil {
			return nil, err
		}
		row.Object.Raw = raw
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}

// rowObject encodes what a row carries: by default the object's metadata
// (kubectl needs it for -A, --show-labels and sorting).
func rowObject(obj runtime.Object, out output) ([]byte, error) {
	var embed runtime.Object
	switch out.includeObject {
	case "None":
		return nil, nil
	case "Object":
		embed = obj
	default:
		pom, err := partialMetadata(obj)
		if err != nil {
			return nil, err
		}
		embed = pom
	}
	var buf bytes.Buffer
	if err := out.info.Serializer.Encode(embed, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func partialMetadata(obj runtime.Object) (*metav1.PartialObjectMetadata, error) {
	acc, ok := obj.(metav1.ObjectMetaAccessor)
	if !ok {
		return nil, fmt.Errorf("%T has no object metadata", obj)
	}
	om, ok := acc.GetObjectMeta().(*metav1.ObjectMeta)
	if !ok {
		return nil, fmt.Errorf("%T has no object metadata", obj)
	}
	return &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{Kind: "PartialObjectMetadata", APIVersion: "meta.k8s.io/v1"},
		ObjectMeta: *om,
	}, nil
}

func partialMetadataList(objs []runtime.Object, list metav1.ListInterface) (*metav1.PartialObjectMetadataList, error) {
	out := &metav1.PartialObjectMetadataList{TypeMeta: metav1.TypeMeta{Kind: "PartialObjectMetadataList", APIVersion: "meta.k8s.io/v1"}}
	out.ResourceVersion = list.GetResourceVersion()
	out.Continue = list.GetContinue()
	out.RemainingItemCount = list.GetRemainingItemCount()
	for _, obj := range objs {
		pom, err := partialMetadata(obj)
		if err != nil {
			return nil, err
		}
		out.Items = append(out.Items, *pom)
	}
	return out, nil
}
