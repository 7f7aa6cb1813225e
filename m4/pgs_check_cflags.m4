# PGS_CHECK_CFLAGS(FLAGS): append each flag the compiler accepts to PGS_CFLAGS.
AC_DEFUN([PGS_CHECK_CFLAGS], [
	for pgs_flag in $1; do
		AC_MSG_CHECKING([whether $CC accepts $pgs_flag])
		pgs_save_CFLAGS=$CFLAGS
		CFLAGS="$CFLAGS -Werror $pgs_flag"
		AC_COMPILE_IFELSE([AC_LANG_PROGRAM([], [])],
		    [AC_MSG_RESULT([yes]); PGS_CFLAGS="$PGS_CFLAGS $pgs_flag"],
		    [AC_MSG_RESULT([no])])
		CFLAGS=$pgs_save_CFLAGS
	done
])
