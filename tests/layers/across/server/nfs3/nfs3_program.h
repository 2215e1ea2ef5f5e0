// Fixture: NFSv3 including NFSv4 (a peer, not a layer below).
#pragma once
#include "server/nfs4/compound.h"
