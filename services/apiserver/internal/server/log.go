package server

import "os"

var logWriter = os.Stderr
