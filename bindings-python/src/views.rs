//! The facade's views as Python objects, from their one Rust definition: each view is
//! serialised with serde, its field names turned to snake_case (the views' serde names are the
//! camelCase of JSON), and handed to `modelyard._views`, which makes it an object of the view's
//! class (`Dataset`, `TrainingRun`...) with attributes, a `repr` and `to_dict()`.
//!
//! Only struct fields are renamed: map keys are data (metric names, class labels, column names)
//! and stay as they are.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyMapping, PyString};
use pythonize::{PythonizeNamedMappingType, PythonizeTypes};
use serde::Serialize;

/// `value` as a Python object: views as view objects, lists as lists, maps as dicts.
pub fn to_py<'py>(py: Python<'py>, value: &impl Serialize) -> PyResult<Bound<'py, PyAny>> {
    Ok(pythonize::pythonize_custom::<ViewTypes, _>(py, value)?)
}

/// A view object of class `kind` (a name `modelyard._views` knows) with these fields.
pub fn make_view<'py>(
    py: Python<'py>,
    kind: &str,
    fields: Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyAny>> {
    static MAKE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let make = MAKE.get_or_try_init(py, || {
        py.import("modelyard._views")?.getattr("_make").map(Bound::unbind)
    })?;
    make.bind(py).call1((kind, fields))
}

struct ViewTypes;

impl PythonizeTypes for ViewTypes {
    type Map = PyDict;
    type NamedMap = ViewFields;
    type List = PyList;
}

/// A struct being serialised: its type name and its fields so far.
struct ViewFields;

impl PythonizeNamedMappingType for ViewFields {
    type Builder<'py> = (&'static str, Bound<'py, PyDict>);

    fn builder<'py>(
        py: Python<'py>,
        _len: usize,
        name: &'static str,
    ) -> PyResult<Self::Builder<'py>> {
        Ok((name, PyDict::new(py)))
    }

    fn push_field<'py>(
        builder: &mut Self::Builder<'py>,
        name: Bound<'py, PyString>,
        value: Bound<'py, PyAny>,
    ) -> PyResult<()> {
        builder.1.set_item(modelyard::case::snake_case(&name.to_cow()?), value)
    }

    fn finish<'py>(builder: Self::Builder<'py>) -> PyResult<Bound<'py, PyMapping>> {
        let (kind, fields) = builder;
        let py = fields.py();
        Ok(make_view(py, kind, fields)?.cast_into::<PyMapping>()?)
    }
}

/// A value converted as [`to_py`] does once it reaches Python: what an asyncio call resolves
/// to (pyo3-async-runtimes converts a coroutine's result with the GIL, after the async call).
pub struct View<T>(pub T);

impl<'py, T: Serialize> IntoPyObject<'py> for View<T> {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        to_py(py, &self.0)
    }
}
