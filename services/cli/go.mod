module github.com/gantry-dev/gantry/services/cli

go 1.26.6

replace (
	github.com/gantry-dev/gantry/libs => ../../libs
	github.com/gantry-dev/gantry/proto => ../../proto
)

require (
	github.com/miekg/dns v1.1.73
	go.yaml.in/yaml/v3 v3.0.4
)

require (
	go.etcd.io/etcd/api/v3 v3.6.7 // indirect
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260817212433-ac3dfec99bb1 // indirect
	google.golang.org/grpc v1.85.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
