// Fixture: a pipeline header that includes an NFSv4 header (goes up a layer).
#pragma once
#include "server/nfs4/program.h"
