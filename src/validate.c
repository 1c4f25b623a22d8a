/*-------------------------------------------------------------------------
 *
 * validate.c
 *	  amvalidate for hnsw operator classes.
 *
 * An hnsw operator class is a distance class, a filter class, or both.
 * A distance class (for the first column) has an ORDER BY operator of
 * strategy 1, whose sort family is a btree family for float8, and support
 * function 1: the distance, (type, type) -> float8.  A filter class (for
 * the columns after it) has search operators returning boolean, of
 * strategies 2 to HNSW_NSTRATEGIES (see hnsw.h), and no function.
 *
 * Copyright (c) 2026, the hnsw developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/amvalidate.h"
#include "access/htup_details.h"
#include "catalog/pg_amop.h"
#include "catalog/pg_amproc.h"
#include "catalog/pg_opclass.h"
#include "catalog/pg_opfamily.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/syscache.h"

#include "hnsw.h"

bool
hnswvalidate(Oid opclassoid)
{
	bool		result = true;
	HeapTuple	classtup;
	Form_pg_opclass classform;
	Oid			opfamilyoid;
	Oid			opcintype;
	char	   *opclassname;
	CatCList   *proclist,
			   *oprlist;
	bool		has_proc = false,
				has_op = false,
				has_search = false;

	classtup = SearchSysCache1(CLAOID, ObjectIdGetDatum(opclassoid));
	if (!HeapTupleIsValid(classtup))
		elog(ERROR, "cache lookup failed for operator class %u", opclassoid);
	classform = (Form_pg_opclass) GETSTRUCT(classtup);
	opfamilyoid = classform->opcfamily;
	opcintype = classform->opcintype;
	opclassname = NameStr(classform->opcname);

	proclist = SearchSysCacheList1(AMPROCNUM, ObjectIdGetDatum(opfamilyoid));
	for (int i = 0; i < proclist->n_members; i++)
	{
		Form_pg_amproc procform =
			(Form_pg_amproc) GETSTRUCT(&proclist->members[i]->tuple);

		if (procform->amproclefttype != opcintype ||
			procform->amprocrighttype != opcintype)
			continue;
		if (procform->amprocnum != HNSW_DISTANCE_PROC)
		{
			ereport(INFO,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("operator class \"%s\" of access method %s contains function %s with invalid support number %d",
							opclassname, "hnsw",
							format_procedure(procform->amproc),
							procform->amprocnum)));
			result = false;
			continue;
		}
		if (!check_amproc_signature(procform->amproc, FLOAT8OID, true,
									2, 2, opcintype, opcintype))
		{
			ereport(INFO,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("operator class \"%s\" of access method %s contains function %s with wrong signature for support number %d",
							opclassname, "hnsw",
							format_procedure(procform->amproc),
							procform->amprocnum)));
			result = false;
			continue;
		}
		has_proc = true;
	}

	oprlist = SearchSysCacheList1(AMOPSTRATEGY, ObjectIdGetDatum(opfamilyoid));
	for (int i = 0; i < oprlist->n_members; i++)
	{
		Form_pg_amop oprform =
			(Form_pg_amop) GETSTRUCT(&oprlist->members[i]->tuple);

		if (oprform->amoplefttype != opcintype &&
			!(oprform->amoplefttype == ANYARRAYOID &&
			  OidIsValid(get_element_type(opcintype))))
			continue;
		if (oprform->amopstrategy > HNSW_DISTANCE_STRATEGY &&
			oprform->amopstrategy <= HNSW_NSTRATEGIES)
		{
			/* a filter operator */
			if (oprform->amoppurpose != AMOP_SEARCH ||
				!check_amop_signature(oprform->amopopr, BOOLOID,
									  oprform->amoplefttype,
									  oprform->amoprighttype))
			{
				ereport(INFO,
						(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
						 errmsg("operator class \"%s\" of access method %s contains operator %s that is not a boolean search operator for strategy %d",
								opclassname, "hnsw",
								format_operator(oprform->amopopr),
								oprform->amopstrategy)));
				result = false;
			}
			else
				has_search = true;
			continue;
		}
		if (oprform->amopstrategy != HNSW_DISTANCE_STRATEGY ||
			oprform->amoppurpose != AMOP_ORDER ||
			!OidIsValid(oprform->amopsortfamily) ||
			!opfamily_can_sort_type(oprform->amopsortfamily, FLOAT8OID))
		{
			ereport(INFO,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("operator class \"%s\" of access method %s contains operator %s that is not an ORDER BY operator for float8 with strategy %d",
							opclassname, "hnsw",
							format_operator(oprform->amopopr),
							HNSW_DISTANCE_STRATEGY)));
			result = false;
			continue;
		}
		if (!check_amop_signature(oprform->amopopr, FLOAT8OID,
								  oprform->amoplefttype,
								  oprform->amoprighttype))
		{
			ereport(INFO,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("operator class \"%s\" of access method %s contains operator %s with wrong signature",
							opclassname, "hnsw",
							format_operator(oprform->amopopr))));
			result = false;
			continue;
		}
		has_op = true;
	}

	/* a filter class has neither; a distance class needs both */
	if (!has_proc && (has_op || !has_search))
	{
		ereport(INFO,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("operator class \"%s\" of access method %s is missing support function %d",
						opclassname, "hnsw", HNSW_DISTANCE_PROC)));
		result = false;
	}
	if (!has_op && (has_proc || !has_search))
	{
		ereport(INFO,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("operator class \"%s\" of access method %s is missing its ORDER BY operator (strategy %d)",
						opclassname, "hnsw", HNSW_DISTANCE_STRATEGY)));
		result = false;
	}

	ReleaseCatCacheList(oprlist);
	ReleaseCatCacheList(proclist);
	ReleaseSysCache(classtup);
	return result;
}
