import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Provider } from 'urql';
import { App } from './App';
import { apiUrl, makeClient, storedToken } from './api';
import './styles.css';

const api = apiUrl();
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Provider value={makeClient(api, storedToken())}>
      <App api={api} />
    </Provider>
  </StrictMode>,
);
