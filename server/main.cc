// nasd entry point (placeholder until the pipeline lands).
int main() { return 0; }
