// Fixture: the header it names.
#pragma once
