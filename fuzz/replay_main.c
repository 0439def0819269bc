/* A main for the harnesses without libFuzzer: runs LLVMFuzzerTestOneInput once on every file
 * named, or in a directory named, so that findings (fuzz/regressions/) are replayed by
 * `make test` with gcc and with ASan/UBSan builds alike. Exits 0 when every input ran. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Defined by the harnesses that set up once (the renderer). */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static int replay_file(const char *path)
{
   FILE *f = fopen(path, "rb");
   if (!f) {
      perror(path);
      return 1;
   }
   struct stat st;
   uint8_t *data = NULL;
   if (fstat(fileno(f), &st) != 0 || !(data = malloc(st.st_size ? (size_t)st.st_size : 1)) ||
       fread(data, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
      fprintf(stderr, "%s: cannot read\n", path);
      fclose(f);
      free(data);
      return 1;
   }
   fclose(f);
   printf("replay %s (%lld bytes)\n", path, (long long)st.st_size);
   fflush(stdout);
   LLVMFuzzerTestOneInput(data, (size_t)st.st_size);
   free(data);
   return 0;
}

/* Every regular file of the directory, in name order (runs read the same). */
static int replay_dir(const char *dir)
{
   struct dirent **names;
   int n = scandir(dir, &names, NULL, alphasort), failed = 0;
   if (n < 0) {
      perror(dir);
      return 1;
   }
   for (int i = 0; i < n; i++) {
      char path[4096];
      struct stat st;
      snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
      if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
         failed |= replay_file(path);
      free(names[i]);
   }
   free(names);
   return failed;
}

int main(int argc, char **argv)
{
   if (LLVMFuzzerInitialize)
      LLVMFuzzerInitialize(&argc, &argv);
   int failed = 0;
   for (int i = 1; i < argc; i++) {
      struct stat st;
      failed |= stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode) ? replay_dir(argv[i])
                                                               : replay_file(argv[i]);
   }
   return failed;
}
